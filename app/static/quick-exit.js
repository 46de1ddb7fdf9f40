// Progressive enhancement only: the quick exit is a plain link to /exit (which ends the
// session, then leaves for the neutral page) and works without this.
// With script on, it replaces this page in the history (so Back does not return here)
// and Escape pressed twice leaves too.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 1000) { leave(); }
    lastEscape = now;
  });
}());
