/*
 * Confirm before a destructive action: a native <dialog> on the page (progressive enhancement).
 *
 * Markup contract (see practice/confirm.py for the server half):
 *
 *   <form method="post" action="URL" data-confirm="Dit adres verwijderen?"
 *         data-confirm-button="Verwijderen">          (optional: the dialog's confirm label)
 *     {% csrf_token %} … <button type="submit">Verwijderen</button>
 *   </form>
 *
 *   data-confirm may sit on the form or on one of its submit buttons (a form with several actions,
 *   e.g. the list's bulk buttons: only the marked button asks). The form must NOT carry
 *   confirmed=1 itself. The view behind URL answers a GET, or a POST without confirmed=1, with its
 *   confirm page (practice.confirm.ask) and acts only on a POST with confirmed=1.
 *
 *   Without JavaScript the button posts without confirmed=1 and so lands on the confirm page.
 *   With it, this script stops the submit (before htmx sees it), asks in a dialog built from
 *   <template id="confirm-dialog"> in base.html (translated buttons), and on "confirm" adds
 *   <input type="hidden" name="confirmed" value="1"> and submits again with the same button, so an
 *   hx-post form still swaps inline. Cancel, Escape or a click outside the dialog change nothing.
 *
 * CSP: no inline script or style; loaded with `defer` from base.html.
 */
(function () {
  "use strict";

  var approved = new WeakSet();

  function questionFor(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return {
        text: submitter.getAttribute("data-confirm"),
        button: submitter.getAttribute("data-confirm-button"),
      };
    }
    if (form.hasAttribute("data-confirm")) {
      return {
        text: form.getAttribute("data-confirm"),
        button: form.getAttribute("data-confirm-button"),
      };
    }
    return null;
  }

  function buildDialog() {
    var template = document.getElementById("confirm-dialog");
    if (!template) {
      return null;
    }
    var dialog = template.content.firstElementChild.cloneNode(true);
    document.body.appendChild(dialog);
    return dialog;
  }

  function ask(question, onConfirm) {
    var dialog = buildDialog();
    if (!dialog || typeof dialog.showModal !== "function") {
      return false; // no dialog support: let the server's confirm page ask instead
    }
    dialog.querySelector("[data-confirm-message]").textContent = question.text;
    var yes = dialog.querySelector("button[value='confirm']");
    if (question.button) {
      yes.textContent = question.button;
    }
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close("cancel"); // a click on the backdrop
      }
    });
    dialog.addEventListener("close", function () {
      var confirmed = dialog.returnValue === "confirm";
      dialog.remove();
      if (confirmed) {
        onConfirm();
      }
    });
    dialog.returnValue = "";
    dialog.showModal();
    return true;
  }

  function confirmAndSubmit(form, submitter) {
    var flag = form.querySelector("input[type='hidden'][name='confirmed']");
    if (!flag) {
      flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirmed";
      flag.value = "1";
      form.appendChild(flag);
    }
    approved.add(form);
    if (submitter && submitter.form === form) {
      form.requestSubmit(submitter);
    } else {
      form.requestSubmit();
    }
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) {
        return;
      }
      if (approved.has(form)) {
        approved.delete(form);
        return; // asked and confirmed: on to htmx or the browser
      }
      var submitter = event.submitter || null;
      var question = questionFor(form, submitter);
      if (!question) {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      var shown = ask(question, function () {
        confirmAndSubmit(form, submitter);
      });
      if (!shown) {
        // Without a dialog the server asks: submit as it is, without confirmed=1.
        var stale = form.querySelector("input[type='hidden'][name='confirmed']");
        if (stale) {
          stale.remove();
        }
        approved.add(form);
        form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      }
    },
    true
  );
})();
