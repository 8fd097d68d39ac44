/* Activity feed: refresh the table from the JSON endpoint every 15 s, without reloading the
   page; the checkbox toggles automated clicks. Rows are built with DOM nodes (no HTML strings). */
(function () {
  "use strict";
  var REFRESH_MS = 15000;
  var table = document.querySelector("[data-activity]");
  if (!table) {
    return;
  }
  var body = table.querySelector("[data-activity-rows]");
  var status = document.querySelector("[data-activity-status]");
  var toggle = document.querySelector("[data-activity-toggle]");
  var NIL = "00000000-0000-0000-0000-000000000000";

  function urlFor(template, placeholder, value) {
    return template.replace(placeholder, encodeURIComponent(value));
  }

  function cell(row, content) {
    var td = document.createElement("td");
    if (content === null || content === undefined || content === "") {
      td.textContent = "—";
    } else if (typeof content === "string") {
      td.textContent = content;
    } else {
      td.appendChild(content);
    }
    row.appendChild(td);
    return td;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function muted(text) {
    var span = document.createElement("span");
    span.className = "muted";
    span.textContent = text;
    return span;
  }

  function localTime(iso) {
    var time = document.createElement("time");
    time.dateTime = iso;
    var when = new Date(iso);
    time.textContent = isNaN(when) ? iso : when.toLocaleString();
    return time;
  }

  function buildRow(item) {
    var tr = document.createElement("tr");
    if (!item.person) {
      tr.className = "automated";
    }
    cell(tr, item.clicked_at ? localTime(item.clicked_at) : null);
    if (item.job) {
      var job = document.createDocumentFragment();
      job.appendChild(link(urlFor(table.dataset.jobUrl, NIL, item.job.id), item.job.title));
      if (item.job.company) {
        job.appendChild(document.createTextNode(" "));
        job.appendChild(muted("at " + item.job.company));
      }
      cell(tr, job);
    } else {
      cell(tr, null);
    }
    cell(tr, item.application_id
      ? link(urlFor(table.dataset.applicationUrl, NIL, item.application_id), "Application")
      : null);
    cell(tr, link(urlFor(table.dataset.linkUrl, "TRACKING_ID", item.tracking_id), item.link_function));
    cell(tr, item.source);
    cell(tr, item.device);
    var where = cell(tr, item.place);
    if (item.network) {
      where.appendChild(document.createElement("br"));
      if (item.from_company_network) {
        var strong = document.createElement("strong");
        strong.className = "company-network";
        strong.textContent = item.network;
        where.appendChild(strong);
      } else {
        where.appendChild(muted(item.network));
      }
    }
    var who = cell(tr, item.classification);
    who.dataset.click = item.click_id;
    if (item.reasons && item.reasons.length) {
      who.appendChild(document.createTextNode(" "));
      who.appendChild(muted("(" + item.reasons.join(", ") + ")"));
    }
    correction(who, item);
    return tr;
  }

  function button(verdict, text) {
    var b = document.createElement("button");
    b.type = "submit";
    b.name = "verdict";
    b.value = verdict;
    b.className = "link-button";
    b.dataset.verdict = verdict;
    b.textContent = text;
    return b;
  }

  /* The same as analytics/_verdict_form.html: who corrected the verdict, and the one-click form. */
  function correction(td, item) {
    if (item.classification_correction) {
      var note = document.createElement("span");
      note.className = "corrected";
      note.dataset.corrected = item.classification_correction;
      var by = item.corrected_by || "";
      note.textContent = by === table.dataset.me
        ? "corrected by you"
        : "corrected by " + (by.replace(/^user:/, "") || "someone");
      td.appendChild(document.createTextNode(" "));
      td.appendChild(note);
    }
    if (!table.dataset.verdictUrl) {
      return;
    }
    var form = document.createElement("form");
    form.method = "post";
    form.action = urlFor(table.dataset.verdictUrl, NIL, item.click_id);
    form.className = "verdict-form";
    form.dataset.verdictForm = "";
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = table.dataset.csrf;
    var next = document.createElement("input");
    next.type = "hidden";
    next.name = "next";
    next.value = window.location.pathname + window.location.search;
    form.appendChild(token);
    form.appendChild(next);
    form.appendChild(item.verdict === "human"
      ? button("machine", "This was a machine")
      : button("person", "This was a person"));
    if (item.classification_correction) {
      form.appendChild(document.createTextNode(" "));
      form.appendChild(button("automatic", "Undo"));
    }
    td.appendChild(document.createTextNode(" "));
    td.appendChild(form);
  }

  function render(data) {
    var rows = document.createDocumentFragment();
    data.rows.forEach(function (item) {
      rows.appendChild(buildRow(item));
    });
    if (!data.rows.length) {
      var empty = document.createElement("tr");
      var td = cell(empty, data.automated ? "No clicks yet." : "No person has clicked a link yet.");
      td.colSpan = 8;
      td.className = "muted";
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
    status.textContent = "Updated " + new Date().toLocaleTimeString() + "; refreshing every 15 seconds.";
  }

  function refresh() {
    var params = new URLSearchParams({ page: table.dataset.page });
    if (table.dataset.automated === "1") {
      params.set("automated", "1");
    }
    fetch(table.dataset.url + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(render)
      .catch(function (error) {
        status.textContent = "Could not refresh (" + error.message + "); trying again in 15 seconds.";
      });
  }

  body.querySelectorAll("time[data-local-time]").forEach(function (node) {
    node.replaceWith(localTime(node.getAttribute("datetime")));
  });
  if (toggle) {
    toggle.addEventListener("change", function () {
      table.dataset.automated = toggle.checked ? "1" : "0";
      table.dataset.page = "1";
      var url = new URL(window.location.href);
      url.searchParams.delete("page");
      if (toggle.checked) {
        url.searchParams.set("automated", "1");
      } else {
        url.searchParams.delete("automated");
      }
      window.history.replaceState(null, "", url);
      refresh();
    });
  }
  window.setInterval(refresh, REFRESH_MS);
})();
