"""The console's cookie sessions: sign in, who am I, sign out; and the cookie path of the
authenticated-caller dependency. The store and timeouts are in `aistrale_common.sessions`."""
