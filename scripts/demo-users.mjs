// The demo app's users and their access tokens, as scripts/demo-seed.sql seeds them (as digests) for `npm start`
// and the tests. No Node imports, so that the bench's reference servers on workerd load it too.
export const DEMO_USERS = [
  { uname: "owner", role: "OWNER", authId: 1 },
  { uname: "mod", role: "MOD", authId: 2 },
  { uname: "alice", role: "MEMBER", authId: 3 },
  { uname: "bob", role: "MEMBER", authId: 4 },
].map((user) => ({ ...user, token: `00000000-0000-4000-8000-${String(user.authId).padStart(12, "0")}` }));

/** Token → the user as the Socketpot API shows it, for servers that answer auth without storage. */
export const DEMO_USERS_BY_TOKEN = new Map(DEMO_USERS.map(({ token, uname, role, authId }) => [token, { uname, auth_id: authId, role }]));
