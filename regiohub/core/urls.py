from django.urls import path

from regiohub.core import views
from regiohub.core.auth import views as auth_views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("account/login/", auth_views.login, name="login"),
    path("account/login/code/", auth_views.verify, name="login-verify"),
    path("account/login/app/", auth_views.setup, name="login-setup"),
    path("account/logout/", auth_views.logout, name="logout"),
    path(
        "account/password/<uidb64>/<token>/",
        views.SetPasswordView.as_view(),
        name="set-password",
    ),
    path("staff/", views.staff_home, name="staff-home"),
    path("staff/organisations/<str:code>/", views.organisation_detail, name="organisation"),
    path(
        "staff/organisations/<str:code>/departments/new/",
        views.department_create,
        name="department-create",
    ),
    path(
        "staff/organisations/<str:code>/departments/<int:pk>/",
        views.department_detail,
        name="department",
    ),
    path(
        "staff/organisations/<str:code>/people/new/",
        views.membership_create,
        name="membership-create",
    ),
]
