"""Meta as the demo, the tests and the bench see it; never served in production.

`graph` is the fake Graph API (`/fake-graph/…`), `simulator` the customer
simulator (`/simulator/`); both answer 404 unless FACEBOOK_SIMULATOR is on.
"""
