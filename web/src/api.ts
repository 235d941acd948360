/// <reference lib="dom" />
// The page's calls to the server's JSON API (the token, when one is needed, rides in a cookie).

export class ApiFailure extends Error {}

export async function getJson<T = Record<string, unknown>>(
  path: string,
  params: Record<string, string | number | undefined> = {},
): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const res = await fetch(`${path}${q.size ? `?${q}` : ""}`, { headers: { accept: "application/json" } });
  return await answer<T>(res);
}

export async function postJson<T = Record<string, unknown>>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  return await answer<T>(res);
}

async function answer<T>(res: Response): Promise<T> {
  const data = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new ApiFailure(String((data as { error?: string }).error ?? res.statusText));
  return data as T;
}
