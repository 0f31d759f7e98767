// Copy buttons: a button with data-copy="ID" copies the text of the element with that id.
// The buttons are hidden in the HTML and shown here, so a page without JavaScript shows none;
// the text stays selectable either way.
"use strict";

(function () {
  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(element) {
    var text = element.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on another host has no Clipboard API: copy the selection instead.
    selectText(element);
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  function say(button, words) {
    button.textContent = words;
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () {
      button.textContent = "Copy";
    }, 2000);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    button.addEventListener("click", function () {
      copy(source).then(
        function () { say(button, "Copied"); },
        function () { selectText(source); say(button, "Press Ctrl+C"); }
      );
    });
    button.hidden = false;
  });
})();
