// Live pages, as a progressive enhancement: every page reads the same without it.
//
// A page whose <main> has data-live="<stream URL>" listens to that Server-Sent Events stream;
// on each "change" event it fetches itself again and swaps the content of <main>, keeping the
// scroll position, the focus and whatever the reader is typing (no swap happens while a field
// has the focus; it waits until the field is left).
//
// A log list with data-log-stream="<stream URL>" (the live log page) gets "entries" events
// carrying new lines as JSON; each becomes a row built with textContent, never as HTML. An "end"
// event says the run ended and closes the stream.
//
// A small indicator in the top bar says whether the page is live. A hidden tab closes its stream
// (browsers allow few connections per server) and catches up when shown again.
(function () {
  "use strict";

  var RETRY_FIRST_MS = 5000;
  var RETRY_MOST_MS = 60000;
  var REFRESH_MIN_MS = 1000;
  var LABELS = {
    connecting: "Connecting…",
    live: "Live",
    offline: "Not live",
    ended: "Run ended",
  };

  // -- the indicator ---------------------------------------------------------------------------

  function makeIndicator() {
    var holder = document.querySelector(".topbar-inner") || document.body;
    var element = document.createElement("span");
    element.className = "live-indicator";
    // Plain text, not a live region: the page's own notice is its one status, and a screen
    // reader need not announce every reconnection.
    var dot = document.createElement("span");
    dot.className = "live-dot";
    dot.setAttribute("aria-hidden", "true");
    var label = document.createElement("span");
    label.className = "live-label";
    element.append(dot, label);
    holder.append(element);
    return function (state, text) {
      element.setAttribute("data-state", state);
      label.textContent = text || LABELS[state];
      element.title =
        state === "live"
          ? "This page updates by itself as things change"
          : state === "offline"
            ? "Not connected; reload the page to see the latest"
            : "";
    };
  }

  // -- one stream, reopened when it drops or the tab comes back --------------------------------

  // url(): where to connect now; handlers: {events: {name: fn(data, event)}, caughtUp: fn()}
  function keepOpen(url, handlers, show) {
    var source = null;
    var retryTimer = null;
    var retryMs = RETRY_FIRST_MS;
    var opened = false;
    var finished = false;

    function open() {
      if (finished || source) {
        return;
      }
      show("connecting");
      source = new EventSource(url());
      source.addEventListener("open", function () {
        show("live");
        retryMs = RETRY_FIRST_MS;
        if (opened && handlers.caughtUp) {
          handlers.caughtUp(); // it may have missed changes while away
        }
        opened = true;
      });
      source.addEventListener("error", function () {
        if (source && source.readyState === EventSource.CLOSED) {
          close();
          show("offline");
          retryTimer = window.setTimeout(open, retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MOST_MS);
        } else if (!finished) {
          show("connecting");
        }
      });
      Object.keys(handlers.events).forEach(function (name) {
        source.addEventListener(name, function (event) {
          var data = null;
          try {
            data = JSON.parse(event.data);
          } catch (ignored) {
            return;
          }
          handlers.events[name](data, event);
        });
      });
    }

    function close() {
      if (source) {
        source.close();
        source = null;
      }
      if (retryTimer) {
        window.clearTimeout(retryTimer);
        retryTimer = null;
      }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        close();
      } else {
        open();
      }
    });
    window.addEventListener("pagehide", close);
    open();
    return {
      finish: function () {
        finished = true;
        close();
      },
    };
  }

  // -- pages that refresh their <main> ---------------------------------------------------------

  function isTyping(main) {
    var active = document.activeElement;
    if (!active || !main.contains(active)) {
      return false;
    }
    var tag = active.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    var plain = ["checkbox", "radio", "submit", "button", "reset"];
    return tag === "INPUT" && plain.indexOf(active.type) < 0;
  }

  function focusKey(main) {
    var active = document.activeElement;
    if (!active || active === main || !main.contains(active)) {
      return null;
    }
    if (active.id) {
      return { id: active.id };
    }
    if (active.getAttribute("href")) {
      return { href: active.getAttribute("href"), text: active.textContent };
    }
    return null;
  }

  function restoreFocus(main, key) {
    if (!key) {
      return;
    }
    var target = null;
    if (key.id) {
      target = document.getElementById(key.id);
    } else {
      var links = main.querySelectorAll('[href="' + CSS.escape(key.href) + '"]');
      for (var i = 0; i < links.length && !target; i += 1) {
        if (links[i].textContent === key.text) {
          target = links[i];
        }
      }
      target = target || links[0] || null;
    }
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  function editedFields(main) {
    var edited = [];
    main.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (field) {
      var changed =
        field.type === "checkbox" || field.type === "radio"
          ? field.checked !== field.defaultChecked
          : field.tagName === "SELECT"
            ? Array.prototype.some.call(field.options, function (option) {
                return option.selected !== option.defaultSelected;
              })
            : field.value !== field.defaultValue;
      if (changed) {
        edited.push({ id: field.id, value: field.value, checked: field.checked });
      }
    });
    return edited;
  }

  function restoreFields(edited) {
    edited.forEach(function (saved) {
      var field = document.getElementById(saved.id);
      if (!field) {
        return;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = saved.checked;
      } else {
        field.value = saved.value;
      }
    });
  }

  function scrolledBoxes(main) {
    return Array.prototype.map.call(main.querySelectorAll(".table-wrap"), function (box) {
      return box.scrollLeft;
    });
  }

  function restoreBoxes(main, offsets) {
    main.querySelectorAll(".table-wrap").forEach(function (box, index) {
      if (offsets[index]) {
        box.scrollLeft = offsets[index];
      }
    });
  }

  function livePage(main) {
    var show = makeIndicator();
    var busy = false;
    var again = false;
    var waiting = null;
    var last = 0;

    function swap(html) {
      var next = new DOMParser().parseFromString(html, "text/html");
      var fresh = next.querySelector("main#main");
      if (!fresh || fresh.getAttribute("data-live") !== main.getAttribute("data-live")) {
        return; // not this page any more (an error page, a sign-in page)
      }
      var x = window.scrollX;
      var y = window.scrollY;
      var focus = focusKey(main);
      var edited = editedFields(main);
      var boxes = scrolledBoxes(main);
      main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
      restoreFields(edited);
      restoreBoxes(main, boxes);
      restoreFocus(main, focus);
      window.scrollTo(x, y);
      document.title = next.title;
      main.dispatchEvent(new CustomEvent("gnomon:content", { bubbles: true }));
    }

    function refresh() {
      if (busy || isTyping(main) || waiting) {
        again = true;
        return;
      }
      var early = last + REFRESH_MIN_MS - Date.now();
      if (early > 0) {
        // A busy Gnomon changes something every moment: a page is fetched at most this often.
        waiting = window.setTimeout(function () {
          waiting = null;
          refresh();
        }, early);
        return;
      }
      busy = true;
      again = false;
      last = Date.now();
      fetch(window.location.href, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          return response.ok && type.indexOf("text/html") === 0 ? response.text() : null;
        })
        .then(function (html) {
          if (html) {
            swap(html);
          }
        })
        .catch(function () {
          show("offline");
        })
        .finally(function () {
          busy = false;
          if (again) {
            refresh();
          }
        });
    }

    main.addEventListener("focusout", function () {
      window.setTimeout(function () {
        if (again) {
          refresh();
        }
      }, 0);
    });
    keepOpen(
      function () {
        return main.getAttribute("data-live");
      },
      { events: { change: refresh }, caughtUp: refresh },
      show,
    );
  }

  // -- the live log ----------------------------------------------------------------------------

  function span(className, text) {
    var element = document.createElement("span");
    element.className = className;
    element.textContent = text;
    return element;
  }

  function logRow(entry) {
    var row = document.createElement("li");
    row.className = "log-line" + (entry.kind ? " log-" + entry.kind : "");
    row.setAttribute("data-id", entry.id);
    var time = document.createElement("time");
    time.setAttribute("datetime", entry.when);
    time.setAttribute("data-format", "clock");
    time.textContent = entry.clock;
    var task = span("log-task", entry.task);
    if (entry.attempt > 1) {
      task.append(" ", span("log-attempt", "#" + entry.attempt));
    }
    row.append(time, " ", task, " ", span("log-source", entry.source), " ");
    row.append(span("log-message", entry.message));
    return row;
  }

  function whenOf(row) {
    var time = row.querySelector("time");
    return time ? time.getAttribute("datetime") : "";
  }

  function insertInOrder(list, row, when) {
    var after = list.lastElementChild;
    while (after && whenOf(after) > when) {
      after = after.previousElementSibling;
    }
    list.insertBefore(row, after ? after.nextElementSibling : list.firstElementChild);
  }

  function liveLog(list) {
    var show = makeIndicator();
    var seen = new Set();
    var position = "";
    list.querySelectorAll("[data-id]").forEach(function (row) {
      seen.add(row.getAttribute("data-id"));
    });
    var empty = document.querySelector("[data-log-empty]");
    var followBox = document.querySelector("[data-follow]");
    var follow = document.getElementById("l-follow");
    if (followBox) {
      followBox.hidden = false;
    }

    function atEnd() {
      if (follow && follow.checked && list.lastElementChild) {
        list.lastElementChild.scrollIntoView({ block: "end" });
      }
    }

    function add(entries, event) {
      var added = 0;
      entries.forEach(function (entry) {
        if (seen.has(entry.id)) {
          return;
        }
        seen.add(entry.id);
        insertInOrder(list, logRow(entry), entry.when);
        added += 1;
      });
      if (event.lastEventId) {
        position = event.lastEventId;
      }
      if (added) {
        if (empty) {
          empty.hidden = true;
        }
        list.dispatchEvent(new CustomEvent("gnomon:content", { bubbles: true }));
        atEnd();
      }
    }

    function url() {
      var base = list.getAttribute("data-log-stream");
      if (!position) {
        return base;
      }
      var target = new URL(base, window.location.href);
      target.searchParams.set("after", position);
      return target.pathname + target.search;
    }

    var stream = keepOpen(
      url,
      {
        events: {
          entries: add,
          run: refreshParts,
          end: function (data) {
            stream.finish();
            show("ended", "Run ended" + (data && data.status ? ": " + data.status : ""));
            if (followBox) {
              followBox.hidden = true;
            }
            refreshParts();
          },
        },
      },
      show,
    );
    if (follow) {
      follow.addEventListener("change", atEnd);
    }
    atEnd();
  }

  // The parts of a page marked data-refresh (with an id) fetched again and swapped, the rest kept:
  // the live log's head and downloads follow the run while its lines stream in.
  function refreshParts() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var next = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh][id]").forEach(function (old) {
          var fresh = next.getElementById(old.id);
          if (fresh) {
            old.replaceWith(fresh);
            fresh.dispatchEvent(new CustomEvent("gnomon:content", { bubbles: true }));
          }
        });
      })
      .catch(function () {
        return null;
      });
  }

  // -- small enhancements ----------------------------------------------------------------------

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) {
          select.form.requestSubmit();
        }
      });
    });
  }

  function start() {
    autosubmit();
    var list = document.querySelector("[data-log-stream]");
    if (list) {
      liveLog(list);
      return;
    }
    var main = document.querySelector("main[data-live]");
    if (main && window.EventSource && window.fetch && window.DOMParser) {
      livePage(main);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
