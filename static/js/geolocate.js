// "Use my location" on the nearby and "for you" pages: asks the browser for
// the position and submits it as lat/lng with the picker's form. Without
// JavaScript or geolocation the button stays hidden and the district list
// still works.
(function () {
  "use strict";
  var button = document.getElementById("use-location");
  if (!button || !("geolocation" in navigator)) return;
  var form = button.form;
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.locating;
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.lat.value = position.coords.latitude.toFixed(6);
        form.elements.lng.value = position.coords.longitude.toFixed(6);
        // The position wins over a district anyway; clearing it keeps the
        // address honest.
        form.elements.district.value = "";
        form.submit();
      },
      function () {
        status.textContent = button.dataset.failed;
        button.disabled = false;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 60000 }
    );
  });
})();
