"""People: the users of a subtree, managed in the browser (``/admin/users``) and from the
CLI (``fieldapp users``) through the same services; who may manage whom lives in
``fieldapp.scope`` (``grantable_roles``, ``may_grant``, ``may_manage_user``)."""
