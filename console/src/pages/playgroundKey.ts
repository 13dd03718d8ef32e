// A key created in this tab is offered to the Playground (kept in memory only, never stored).
const keys = new Map<string, string>();
export const rememberKey = (orgId: string, key: string) => keys.set(orgId, key);
export const rememberedKey = (orgId: string) => keys.get(orgId) ?? "";
