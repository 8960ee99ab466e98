/* Mijn taken by keyboard, on top of the buttons that work without it: j and k move between the
   tasks, x chooses one for "Complete the chosen tasks", d completes the current one. */
(function () {
  "use strict";
  var current = -1;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr[data-task]")); }
  function move(by) {
    var all = rows();
    if (!all.length) { return; }
    if (all[current]) { all[current].classList.remove("current"); }
    current = Math.max(0, Math.min(all.length - 1, current + by));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
    var box = all[current].querySelector("input[type=checkbox]");
    if (box) { box.focus(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox") || target.tagName === "SELECT")) { return; }
    var row = rows()[current];
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "x" && row) {
      var box = row.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      event.preventDefault();
    } else if (event.key === "d" && row) {
      var done = row.querySelector("button[data-complete]");
      if (done) { done.click(); }
      event.preventDefault();
    }
  });
})();
