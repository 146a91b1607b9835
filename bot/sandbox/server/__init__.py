"""``python -m bot sandbox``: the Sheets emulator and every channel simulator as one process.

The sandbox serves, on ``http://127.0.0.1:<port>``, under one path prefix per real host:

=====================  ==============================================================
``/sheets/…``          the Sheets API v4 (``https://sheets.googleapis.com/…``): the emulator
``/google/token``      Google's OAuth token endpoint for the sandbox's service account
``/rakuten/…``         楽天 RMS (``base_url``); likewise ``/yahoo``, ``/amazon``, ``/shopify``,
                       ``/base``, ``/colorme`` for each channel's ``base_url``
``/yahoo-auth/…``      Yahoo's YConnect host (``auth_base_url``)
``/amazon-token/…``    Login with Amazon (``token_url``); ``/amazon-documents/…`` the
                       pre-signed feed and report documents
``/_sandbox/…``        the control API (below)
=====================  ==============================================================

Each request is handed to the double's own handler (:mod:`~bot.sandbox.server.bridge`);
the Sheets calls need a Bearer token from ``/google/token``, which verifies the JWT
signed with the key the sandbox generated (:mod:`~bot.sandbox.server.sheets_auth`).

At start it writes into its folder (``--dir``, default ``./sandbox``) ``zaiko.toml``,
``env``, ``service-account.json`` and ``server.json`` (:mod:`~bot.sandbox.server.files`),
so that ``set -a; . sandbox/env; set +a; python -m bot run`` is the production worker,
unchanged, against the sandbox. The first start creates the spreadsheet, runs
production's init-sheet on it and seeds the demo's shop (:mod:`~bot.sandbox.server.seed`;
``--empty``: no products, for a program that brings its own catalogue);
later starts load the state file (``--state``, default ``<dir>/state.pickle``), which is
written when something changed (at most every 2 s, slower for a big book; ``--save-every``
sets the gap, 0 saves only at shutdown and on request) and on SIGTERM/SIGINT
(:mod:`~bot.sandbox.server.state`).

Clock (``--clock``): ``real`` (default) is the wall clock. ``follow`` is for programs
that run the bot on a virtual clock: a request carrying ``X-Zaiko-Sandbox-Clock: <ISO
8601 time with offset>`` first moves the sandbox's clock forward to that time (never
back), so the simulators' rate limits and timestamps follow the caller's time; it
starts at ``--start`` (else the saved time, else now). Tokens always live on the wall
clock (google-auth stamps them with it).

From a program: start ``python -m bot sandbox --port 0 --dir D [--clock follow --start ISO]
[--empty] [--malls rakuten,yahoo]``, wait for ``D/server.json`` (written once it listens;
``url`` is there), run the worker with ``D/env`` loaded, drive the world through the
control API, and stop the sandbox with SIGTERM (it saves, removes ``server.json`` and
exits 0). :class:`~bot.sandbox.server.client.SandboxProcess` does exactly that
(``start``, ``control.call``, ``worker_env``, ``stop``).

Control API (JSON bodies and answers; errors are ``{"error": "<Japanese>"}`` with a 4xx):

- ``GET /_sandbox`` — url, sheet id, clock, channels, prefixes, tabs.
- ``GET /_sandbox/clock``; ``POST /_sandbox/clock {"now": ISO}`` (follow mode: forward only).
- ``GET /_sandbox/tabs/<tab>[?render=FORMATTED_VALUE|FORMULA]`` — ``{"values": [[…]]}``.
- ``POST /_sandbox/tabs/<tab>/cells {"a1": "D2", "rows": [[…]]}`` (or ``"value": x``;
  ``"raw": true`` stores as is) — staff typing: USER_ENTERED (``+7`` becomes 7 in a number
  cell, a TEXT-formatted column keeps it as typed).
- ``POST /_sandbox/tabs/<tab>/rows {"rows": [[…], …]}`` — typed below the last row with data
  (bulk: one call for any number of rows).
- ``POST /_sandbox/products/<商品コード> {"column": "在庫数", "value": 27}`` — one 商品マスタ cell.
- ``POST /_sandbox/movements {"sku", "quantity", "kind": "入荷", "memo"}`` — a 入出庫 row.
- ``GET /_sandbox/malls`` — every product's 在庫数 and each channel's code and shown stock.
- ``GET /_sandbox/channels/<ch>/stock?code=a&code=b`` — ``{"stock": {code: n | null}}``
  (what the channel shows once pushes are live; ``null``: not listed).
- ``PUT /_sandbox/channels/<ch>/stock {"code", "quantity"}`` — a hand edit on the channel.
- ``POST /_sandbox/channels/<ch>/listings {"listings": [[code, qty], …]}`` — list products.
- ``POST /_sandbox/channels/<ch>/orders {"lines": [[code, units], …]}`` — ``{"order": id}``;
  a code may be the channel's or a 商品コード. ``POST …/orders/<id>/cancel`` cancels it.
- ``POST /_sandbox/channels/<ch>/orders/bulk {"orders": [[[code, units], …], …]}`` —
  many orders in one call: ``{"orders": [id | null, …]}`` (null: the shop refused that one).
- ``POST /_sandbox/faults {"target": "sheets" | <ch>, "kind": "429"|"500"|"503"|"timeout",
  "times": n}`` — the next requests fail.
- ``GET /_sandbox/requests?since=<seq>&target=<sheets|google|ch>`` — the request log
  (seq, at, target, method, path, status, bytes_in, bytes_out, Sheets ``op``).
- ``GET /_sandbox/counters``; ``POST /_sandbox/counters/reset`` (answers the totals so far)
  — per target: requests, bytes_in, bytes_out, largest_request, refused.
- ``POST /_sandbox/save`` — write the state file now.

``<ch>`` is a channel's key, label or alias (``rakuten``, ``楽天``); wherever a channel's
code is asked for, a 商品コード also works (its first code in 商品マスタ). Control calls
act on the doubles directly and are neither counted as API traffic nor rate-limited.
``/cells`` with an A1 address is the fast path at scale; ``/products/<sku>`` and ``/rows``
read the whole tab to find their row.

Modules: :mod:`~bot.sandbox.server.main` (the command), :mod:`~bot.sandbox.server.http`
(server, state keeper, shutdown), :mod:`~bot.sandbox.server.world` (routing, log,
counters), :mod:`~bot.sandbox.server.control`, :mod:`~bot.sandbox.server.edit` (the
``edit`` command), :mod:`~bot.sandbox.server.client` (for programs),
:mod:`~bot.sandbox.server.locate` (``server.json``; light, for the CLI).
"""
