"""The hook: :mod:`.base` (transport, auth, retries, IAM tokens, connection refresh) under
:mod:`.modelarts` (one short method per endpoint); :mod:`.paging` walks pages for both."""
