// A load being read, checked or loaded: its page follows it without reloading itself
// every few seconds (a reload moves a screen reader back to the top of the page, and
// WCAG 2.2.1 asks for no timed refresh). Every 2 seconds the page is fetched in the
// background and its progress bar follows; once the load's state changes, the page is
// shown anew. Without JavaScript, the <noscript> refresh in the page's head does it.
(function () {
  "use strict";
  var status = document.querySelector("[data-load-state]");
  if (!status || !window.fetch || !window.DOMParser) return;
  var state = status.getAttribute("data-load-state");
  var every = 2000;
  var delay = every;

  function follow(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html")
      .querySelector("[data-load-state]");
    if (!fresh || fresh.getAttribute("data-load-state") !== state) {
      window.location.reload();
      return;
    }
    var bar = status.querySelector("progress");
    var freshBar = fresh.querySelector("progress");
    if (bar && freshBar) {
      bar.value = freshBar.value;
      bar.textContent = freshBar.textContent;
    }
    delay = every;
    window.setTimeout(check, delay);
  }

  function check() {
    window.fetch(window.location.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(follow)
      .catch(function () {
        delay = Math.min(delay * 2, 30000); // the server is busy or away: ask less often
        window.setTimeout(check, delay);
      });
  }

  window.setTimeout(check, delay);
})();
