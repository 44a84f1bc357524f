"""Podium as the OpenID Connect provider of spaces that ask for "Sign in with Hugging Face" (`hf_oauth: true`).

- `config`: what a README's `hf_oauth*` keys ask for, checked (a bad value is the space's CONFIG_ERROR).
- `clients`: one OAuth client per such space, registered when it deploys; its secret, the variables the Hub
  injects into the app, and the only addresses its codes may be delivered to (the space's own).
- `keys`: the RSA key that signs ID tokens, kept in the data folder (0600), and its public JWKS.
- `provider`: Authlib's authorization server on Podium's database (codes, tokens, PKCE, ID tokens).
- `routes`: the endpoints: discovery, authorize with its consent page (on the pages), token, userinfo, JWKS.
- `deploy`: what a deploy does: registers the client and gives the app the Hub's variables.
- `door`: how an app inside its sandbox reaches the provider's server-side endpoints.
"""
