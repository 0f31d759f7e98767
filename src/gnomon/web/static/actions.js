/* Gnomon's action buttons, enhanced: every form with class "action" works without this file
   (a plain POST, a confirmation page, a redirect); with it, a button asks its question in a
   dialog (data-confirm, on the form or the button), sends the same fields with fetch, and
   either goes on to the page the server redirects to or shows the server's message next to the
   button, in an alert, without leaving the page. */
"use strict";

(function () {
  var FALLBACK = "Gnomon could not be reached; try again.";

  // The message of an error page (its [data-message]), as text; never its markup.
  function messageOf(html, status) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var node = page.querySelector("[data-message]");
    var text = node ? node.textContent.trim() : "";
    return text || "The server answered with status " + status + ".";
  }

  function newAlert() {
    var area = document.createElement("p");
    area.className = "action-alert";
    area.setAttribute("role", "alert");
    return area;
  }

  // The button's alert area: right after it, or, for a button in a table row, in a row of its
  // own just under that row (a table cell is too narrow for a sentence).
  function alertArea(button) {
    var row = button.closest("tr");
    var next = row ? row.nextElementSibling : button.nextElementSibling;
    if (row && next && next.classList.contains("alert-row")) {
      return next.querySelector(".action-alert");
    }
    if (!row && next && next.classList.contains("action-alert")) {
      return next;
    }
    var area = newAlert();
    if (row) {
      var alertRow = document.createElement("tr");
      var cell = alertRow.insertCell();
      alertRow.className = "alert-row";
      cell.colSpan = row.cells.length;
      cell.appendChild(area);
      row.insertAdjacentElement("afterend", alertRow);
    } else {
      button.insertAdjacentElement("afterend", area);
    }
    return area;
  }

  function alertAfter(button, text) {
    alertArea(button).textContent = text;
  }

  function setBusy(form, button, busy) {
    form.classList.toggle("is-busy", busy);
    if (button) {
      button.disabled = busy;
      button.setAttribute("aria-busy", busy ? "true" : "false");
    }
  }

  function send(form, submitter, confirmed) {
    var button = submitter || form.querySelector("button");
    var body = new URLSearchParams(new FormData(form, submitter || null));
    if (confirmed) {
      body.set("confirmed", "1");
    }
    var target = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    setBusy(form, button, true);
    fetch(target, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "follow",
      headers: { Accept: "text/html" },
    })
      .then(function (response) {
        if (response.redirected) {
          // Done (or off to the login page): the page the server sent the browser to says so.
          window.location.assign(response.url);
          return null;
        }
        if (response.ok) {
          // A page to read rather than a redirect (a confirmation the script did not ask
          // for): let the browser post the form itself and show it.
          form.dataset.native = "true";
          form.requestSubmit(submitter || null);
          return null;
        }
        return response.text().then(function (html) {
          alertAfter(button, messageOf(html, response.status));
        });
      })
      .catch(function () {
        alertAfter(button, FALLBACK);
      })
      .finally(function () {
        setBusy(form, button, false);
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("action")) {
      return;
    }
    if (form.dataset.native === "true") {
      delete form.dataset.native;
      return;
    }
    var submitter = event.submitter || null;
    var question = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    event.preventDefault();
    if (question && !window.confirm(question)) {
      return;
    }
    send(form, submitter, Boolean(question));
  });
})();
