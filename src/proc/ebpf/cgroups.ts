// A cgroup v2 id, as the kernel gives it to eBPF, is the inode of the cgroup's directory under
// the cgroup2 mount. This finds that directory (walking the tree, at most every few seconds when
// an id is new) and reads what a user knows it by: the container (docker, podman, containerd,
// CRI-O, LXC) and the systemd unit.

export interface CgroupName {
  /** The cgroup's path under the cgroup2 mount ("/system.slice/ssh.service"). */
  path: string;
  /** A container's id (64 hex digits for docker/podman/containerd/CRI-O, the name for LXC). */
  container: string | null;
  /** The innermost systemd unit (a .service or .scope). */
  unit: string | null;
}

/** Directories read per walk at most: a bound on the cost of a tree with runaway cgroups. */
const MAX_DIRS = 20000;
const MAX_DEPTH = 16;
/** A walk for an id not found is repeated at most this often. */
const REWALK_MS = 2000;

export function describeCgroup(path: string): CgroupName {
  const parts = path.split("/").filter((p) => p);
  let container: string | null = null, unit: string | null = null;
  for (const part of parts) {
    const id = part.match(
      /^(?:(?:docker|libpod|cri-containerd|crio|containerd)-)?([0-9a-f]{64})(?:\.scope)?$/,
    );
    if (id) container = id[1];
    const lxc = part.match(/^lxc\.payload\.(.+)$/);
    if (lxc) container = lxc[1];
    if (/\.(service|scope)$/.test(part)) unit = part;
  }
  const lxcDir = path.match(/^\/lxc\/([^/]+)/);
  if (lxcDir && !container) container = lxcDir[1];
  return { path: path || "/", container, unit };
}

/** Where cgroup2 is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems). */
function cgroup2Mount(): string | null {
  try {
    for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
      const [left, right] = line.split(" - ");
      if (right?.startsWith("cgroup2 ")) return left.split(" ")[4];
    }
  } catch { /* no /proc */ }
  return null;
}

export class CgroupNames {
  readonly #root: string | null;
  #byId = new Map<number, CgroupName>();
  #lastWalk = -Infinity;

  constructor(root: string | null = cgroup2Mount()) {
    this.#root = root;
  }

  /** The cgroup with this id, or null (no cgroup2, or it is gone). */
  resolve(id: number): CgroupName | null {
    if (!this.#root || !id) return null;
    const known = this.#byId.get(id);
    if (known || performance.now() - this.#lastWalk < REWALK_MS) return known ?? null;
    this.#walk(this.#root);
    return this.#byId.get(id) ?? null;
  }

  /** Maps every cgroup directory's inode to its name; the map is rebuilt, so it stays bounded. */
  #walk(root: string): void {
    this.#lastWalk = performance.now();
    const found = new Map<number, CgroupName>();
    const stack: [string, number][] = [["", 0]];
    while (stack.length && found.size < MAX_DIRS) {
      const [rel, depth] = stack.pop()!;
      try {
        found.set(Deno.statSync(`${root}${rel}`).ino ?? 0, describeCgroup(rel));
        if (depth >= MAX_DEPTH) continue;
        for (const e of Deno.readDirSync(`${root}${rel}`)) {
          if (e.isDirectory) stack.push([`${rel}/${e.name}`, depth + 1]);
        }
      } catch { /* removed meanwhile */ }
    }
    this.#byId = found;
  }
}
