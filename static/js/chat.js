/* Chat (collab): Ctrl+Enter (or Cmd+Enter) in a message box sends its form. Without JavaScript the
   Send button does the same; nothing else depends on this file. */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!box || !box.matches || !box.matches("textarea[data-send-on-ctrl-enter]")) return;
    if (box.form) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });
})();
