// The exchange pages, progressively enhanced: without JavaScript the form posts
// and the server renders every figure.
//
// - Exchange page: the live quote. On every change, and every 10 seconds, asks
//   the server to price the exchange (nothing is stored) and fills in the
//   figures, or shows the translated refusal the server sent.
// - Confirm page: counts the locked quote down and, when it lapses, hides the
//   confirm button and shows how to get a new quote. One click confirms once.
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var DEBOUNCE_MS = 250;

  function liveQuote(form) {
    var panel = {
      refusal: document.getElementById("quote-refusal"),
      refusalText: document.getElementById("quote-refusal-text"),
      realName: document.getElementById("quote-real-name"),
      terms: document.getElementById("quote-terms"),
      note: document.getElementById("quote-live-note"),
    };
    var timer = null;
    var latest = 0;

    function show(answer) {
      if (answer.status === "ok") {
        form.querySelectorAll("[data-term]").forEach(function (slot) {
          slot.textContent = answer[slot.getAttribute("data-term")];
        });
        panel.refusal.hidden = true;
        panel.terms.hidden = false;
        panel.note.hidden = false;
      } else {
        panel.refusalText.textContent = answer.message;
        panel.realName.hidden = !answer.real_name;
        panel.refusal.hidden = false;
        panel.terms.hidden = true;
      }
    }

    function refresh() {
      var points = form.elements.points.value.trim();
      if (points === "") {
        panel.refusal.hidden = true;
        panel.terms.hidden = true;
        return;
      }
      var query = new URLSearchParams({
        from: form.elements.from.value,
        to: form.elements.to.value,
        points: points,
      });
      var asked = ++latest;
      fetch(form.getAttribute("data-preview") + "?" + query.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("preview " + response.status);
          }
          return response.json();
        })
        .then(function (answer) {
          // An older answer arriving late must not replace a newer one.
          if (asked === latest) {
            show(answer);
          }
        })
        .catch(function () {
          // The form still works; the quote is priced when it is posted.
        });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DEBOUNCE_MS);
    }

    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    window.setInterval(function () {
      if (!document.hidden) {
        refresh();
      }
    }, REFRESH_MS);
    refresh();
  }

  function countdown(box) {
    var seconds = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    var shown = document.getElementById("quote-seconds");
    var form = document.getElementById("confirm-form");
    var expired = document.getElementById("quote-expired");
    var deadline = Date.now() + seconds * 1000;

    function tick() {
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      shown.textContent = String(left);
      if (left === 0) {
        box.hidden = true;
        form.hidden = true;
        expired.hidden = false;
        return;
      }
      window.setTimeout(tick, 250);
    }

    form.addEventListener("submit", function () {
      // The server executes a quote once anyway; this spares the second trip.
      form.querySelector("button[type=submit]").disabled = true;
    });
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("exchange-form");
    if (form) {
      liveQuote(form);
    }
    var box = document.getElementById("quote-countdown");
    if (box) {
      countdown(box);
    }
  });
})();
