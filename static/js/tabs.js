/* On a narrow screen the relation's tabs scroll sideways on one line: bring the current tab into
   view, so that a tab far to the right (Timeline, Ledger) is not hidden off screen. */
(function () {
  "use strict";
  function show() {
    var current = document.querySelector('.tabs [aria-current="page"]');
    var tabs = current && current.parentElement;
    if (tabs && tabs.scrollWidth > tabs.clientWidth) {
      tabs.scrollLeft = current.offsetLeft - tabs.offsetLeft - (tabs.clientWidth - current.offsetWidth) / 2;
    }
  }
  document.addEventListener("DOMContentLoaded", show);
})();
