// Small improvements only: every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Filter selects apply as soon as they change (the Apply button stays for no-JS browsers).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  });
  // Put the cursor on the first field that needs fixing.
  var invalid = document.querySelector("[aria-invalid=true]");
  if (invalid) invalid.focus();
});
