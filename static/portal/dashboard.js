// "Use this key on the try-it pages": keeps the secret just shown in this browser tab only
// (sessionStorage: gone when the tab closes, never sent to the server). The try-it pages read
// exactly these two keys.
(function () {
  "use strict";
  var button = document.getElementById("use-key");
  var status = document.getElementById("use-key-status");
  if (!button || !window.sessionStorage) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var apiId = button.dataset.apiId;
    try {
      sessionStorage.setItem("faceportal.secret." + apiId, button.dataset.secret);
      sessionStorage.setItem("faceportal.api_id", apiId);
      status.textContent = "Saved in this browser tab: the try-it pages will use this key until you close the tab.";
    } catch (error) {
      status.textContent = "This browser refused to keep the key (" + error.name + "): paste it on the try-it pages.";
    }
  });
})();
