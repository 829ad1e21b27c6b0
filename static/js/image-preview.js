// Shows the image a merchant picked before it is uploaded. A data: URL, because
// the CSP allows images from this site and data: only.
document.querySelectorAll("input[type=file][data-preview]").forEach((input) => {
  input.addEventListener("change", () => {
    const preview = document.getElementById(input.dataset.preview);
    const file = input.files && input.files[0];
    if (!preview || !file) return;
    const reader = new FileReader();
    reader.addEventListener("load", () => {
      preview.src = reader.result;
      preview.hidden = false;
      const none = document.getElementById("image-none");
      if (none) none.hidden = true;
    });
    reader.readAsDataURL(file);
  });
});
