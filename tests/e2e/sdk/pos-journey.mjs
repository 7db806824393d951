// Drives the published @commercengine/pos SDK against a posfleet server, exactly as a POS app
// would, and prints one JSON line per step. Configuration comes from the environment:
// POSFLEET_BASE_URL (…/api/v1/{storeId}/storefront), STORE_ID, API_KEY, PAIRING_CODE,
// LOCATION_ID, EMAIL.
import { MemoryTokenStorage, PosSDK } from "@commercengine/pos";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

let tokenUpdates = 0;
let tokensCleared = 0;
const sdk = new PosSDK({
  baseUrl: env("POSFLEET_BASE_URL"),
  storeId: env("STORE_ID"),
  apiKey: env("API_KEY"),
  // The SDK refreshes tokens itself only when it has somewhere to keep them.
  tokenStorage: new MemoryTokenStorage(),
  onTokensUpdated: () => {
    tokenUpdates += 1;
  },
  onTokensCleared: () => {
    tokensCleared += 1;
  },
});
const pos = sdk.pos;

const report = (step, result, extra = {}) => {
  const line = {
    step,
    ok: !result.error,
    status: result.response?.status ?? null,
    error: result.error ? { code: result.error.code, message: result.error.message } : null,
    ...extra,
  };
  console.log(JSON.stringify(line));
  return line;
};

const paired = await pos.pairDevice({ pairing_code: env("PAIRING_CODE") });
report("pairDevice", paired, { device: paired.data?.device ?? null });
const deviceId = paired.data?.device?.id;

const locations = await pos.listLocations();
report("listLocations", locations, {
  locations: (locations.data?.locations ?? []).map((l) => l.id),
});

const login = await pos.loginWithEmail(
  { location_id: env("LOCATION_ID"), email: env("EMAIL") },
  { "x-debug-mode": true },
);
report("loginWithEmail", login, {
  otp_action: login.data?.otp_action ?? null,
  has_otp: typeof login.data?.otp === "string",
});

const verified = await pos.verifyOtp({
  otp: login.data?.otp ?? "",
  otp_token: login.data?.otp_token ?? "",
  otp_action: "login",
});
report("verifyOtp", verified, { user: verified.data?.user ?? null });
const userId = verified.data?.user?.id;
const firstAccess = await sdk.getAccessToken();
const info = await sdk.getUserInfo();
console.log(
  JSON.stringify({
    step: "getUserInfo",
    ok: info !== null,
    info: info && {
      id: info.id,
      storeId: info.storeId,
      tenantId: info.tenantId,
      location: info.location,
      sessionId: info.sessionId,
      isLoggedIn: info.isLoggedIn,
      roles: info.roles,
    },
  }),
);

const devices = await pos.listDevices();
report("listDevices", devices, {
  devices: (devices.data?.devices ?? []).map((d) => ({ id: d.id, status: d.status })),
});

const claimed = await pos.claimDevice({ id: deviceId });
report("claimDevice", claimed, { device: claimed.data?.user?.device ?? null });

const user = await pos.getUser({ id: userId });
report("getUser", user, { user_id: user.data?.user?.id ?? null, device: user.data?.user?.device ?? null });

// The access tokens live 5 s on this server, so the SDK refreshes before each bearer call.
const refreshedAccess = await sdk.getAccessToken();
console.log(
  JSON.stringify({
    step: "automaticRefresh",
    ok: tokenUpdates > 1 && refreshedAccess !== firstAccess,
    token_updates: tokenUpdates,
  }),
);

const unclaimed = await pos.unclaimDevice({ id: deviceId });
report("unclaimDevice", unclaimed, { device: unclaimed.data?.user?.device ?? null });

const lastAccess = await sdk.getAccessToken();
const loggedOut = await pos.logout();
report("logout", loggedOut, { tokens_cleared: tokensCleared });

const afterLogout = await pos.listDevices();
report("listDevicesAfterLogout", afterLogout);

const replay = await fetch(`${env("POSFLEET_BASE_URL")}/pos/devices`, {
  headers: { Authorization: `Bearer ${lastAccess}` },
});
console.log(
  JSON.stringify({ step: "oldTokenAfterLogout", ok: replay.ok, status: replay.status, body: await replay.json() }),
);
