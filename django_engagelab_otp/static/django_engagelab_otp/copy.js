// The message history list shows the end of each platform message id; a click
// on it copies the whole id (support staff paste it into the EngageLab console).
"use strict";
(function () {
    // Plain http on a host other than localhost has no Clipboard API.
    function copyBySelection(text) {
        const area = document.createElement("textarea");
        area.value = text;
        area.setAttribute("readonly", "");
        area.style.position = "fixed";
        area.style.opacity = "0";
        document.body.appendChild(area);
        area.select();
        let copied = false;
        try {
            copied = document.execCommand("copy");
        } catch (error) {
            copied = false;
        }
        area.remove();
        return copied;
    }

    function confirm(button) {
        button.classList.add("engagelab-id--copied");
        window.setTimeout(function () {
            button.classList.remove("engagelab-id--copied");
        }, 1200);
    }

    document.addEventListener("click", function (event) {
        const button = event.target.closest("button.engagelab-id[data-copy]");
        if (!button) {
            return;
        }
        const text = button.dataset.copy;
        if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(text).then(
                function () { confirm(button); },
                function () { if (copyBySelection(text)) { confirm(button); } }
            );
        } else if (copyBySelection(text)) {
            confirm(button);
        }
    });
})();
