from django.urls import path

from regiohub.core import views
from regiohub.core.auth import token_views
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
    path("account/api-tokens/", token_views.token_list, name="api-tokens"),
    path("account/api-tokens/new/", token_views.token_create, name="api-token-create"),
    path("account/api-tokens/<int:pk>/revoke/", token_views.token_revoke, name="api-token-revoke"),
    path("staff/api-tokens/", token_views.staff_token_list, name="api-tokens-staff"),
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
