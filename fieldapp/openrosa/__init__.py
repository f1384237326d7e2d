"""The OpenRosa API that ODK Collect and our phone app speak: form list, XForms,
manifests and media, and submissions (docs.getodk.org/openrosa-form-list,
docs.getodk.org/openrosa-form-submission)."""
