// Times in the reader's zone. The server writes every time in UTC, inside
// <time datetime="...">; this shows each in the browser's zone instead, with the UTC time as its
// tooltip, and says so in the footer. Without JavaScript the pages keep UTC throughout.
// New content (a live page swapped in, log lines appended) is shown the same way: live.js fires
// "gnomon:content" on the element it changed.
(function () {
  "use strict";

  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (ignored) {
    zone = "";
  }

  function pad(value, width) {
    var text = String(value);
    while (text.length < (width || 2)) {
      text = "0" + text;
    }
    return text;
  }

  function clock(date, utc) {
    var hours = utc ? date.getUTCHours() : date.getHours();
    var minutes = utc ? date.getUTCMinutes() : date.getMinutes();
    var seconds = utc ? date.getUTCSeconds() : date.getSeconds();
    return pad(hours) + ":" + pad(minutes) + ":" + pad(seconds);
  }

  function day(date, utc) {
    var year = utc ? date.getUTCFullYear() : date.getFullYear();
    var month = (utc ? date.getUTCMonth() : date.getMonth()) + 1;
    var dayOfMonth = utc ? date.getUTCDate() : date.getDate();
    return pad(year, 4) + "-" + pad(month) + "-" + pad(dayOfMonth);
  }

  function shown(date, format, utc) {
    if (format === "clock") {
      return clock(date, utc) + "." + pad(date.getMilliseconds(), 3);
    }
    return day(date, utc) + " " + clock(date, utc);
  }

  function offset(date) {
    var minutes = -date.getTimezoneOffset();
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    return "UTC" + sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }

  function localise(root) {
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i += 1) {
      var element = times[i];
      if (element.hasAttribute("data-local")) {
        continue;
      }
      var date = new Date(element.getAttribute("datetime"));
      if (isNaN(date.getTime())) {
        continue;
      }
      var format = element.getAttribute("data-format");
      element.textContent = shown(date, format, false);
      element.title = day(date, true) + " " + clock(date, true) + " UTC";
      element.setAttribute("data-local", "");
    }
    // Labels that named UTC beside those times now name the reader's offset.
    var labels = root.querySelectorAll("[data-zone-label]");
    for (var j = 0; j < labels.length; j += 1) {
      labels[j].textContent = offset(new Date());
    }
  }

  function describeZone() {
    var note = document.getElementById("times-note");
    if (!note) {
      return;
    }
    var now = new Date();
    if (now.getTimezoneOffset() === 0 && (zone === "" || zone === "UTC" || zone === "Etc/UTC")) {
      note.textContent = "Times are UTC";
      return;
    }
    var name = zone ? zone.replace(/_/g, " ") + ", " : "";
    note.textContent = "Times are in your zone (" + name + offset(now) + "); hover a time for UTC";
  }

  function start() {
    localise(document);
    describeZone();
    document.addEventListener("gnomon:content", function (event) {
      localise(event.target && event.target.querySelectorAll ? event.target : document);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
