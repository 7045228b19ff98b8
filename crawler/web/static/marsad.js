// Marsad web page: progressive enhancement only; every page works without it.
"use strict";

// ---- search (W1): facets and attention over time arrive in their own requests -------------
// An element with data-fragment="URL" shows a link until the fragment arrives; the fragment is
// HTML our server rendered (escaped), parsed inertly and moved in (no script runs from it).
(function () {
  function load(holder) {
    var url = holder.getAttribute("data-fragment");
    var sep = url.indexOf("?") < 0 ? "?" : "&";
    holder.setAttribute("aria-busy", "true");
    fetch(url + sep + "fragment=1", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var parsed = new DOMParser().parseFromString(html, "text/html");
        holder.replaceChildren.apply(holder, Array.prototype.slice.call(parsed.body.childNodes));
        holder.setAttribute("data-loaded", "true");
      })
      .catch(function () { holder.setAttribute("data-failed", "true"); })
      .finally(function () { holder.removeAttribute("aria-busy"); });
  }
  document.querySelectorAll("[data-fragment]").forEach(load);
})();
