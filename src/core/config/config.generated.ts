/* Generated from schemas/caseway-config.schema.json by `npm run gen:types`. Do not edit. */

/**
 * A condition on the canonical case. Combine with all / any / not.
 */
export type Filter =
  | {
      /**
       * @minItems 1
       */
      all: Filter[];
    }
  | {
      /**
       * @minItems 1
       */
      any: Filter[];
    }
  | {
      not: Filter;
    }
  | {
      path: string;
      equals?: unknown;
      in?: unknown[];
      exists?: boolean;
      matches?: string;
    };

/**
 * The integrator's file: connections to peer systems and the routes between them.
 */
export interface CasewayConfig {
  version?: 1;
  hub?: {
    name?: string;
    /**
     * Base64 32-byte key that encrypts case payloads at rest in Redis. Use ${CASEWAY_DATA_KEY}.
     */
    dataKey?: string;
    /**
     * Base URL printed in trace links (defaults to http://127.0.0.1:<port>).
     */
    publicUrl?: string;
    /**
     * How long payloads, traces and delivery records are kept.
     */
    retentionDays?: number;
    /**
     * How long cross-references (hub id <-> peer ids; no personal data) are kept, so a peer can come back to a case after its payload expired. Default 365.
     */
    referenceRetentionDays?: number;
    defaults?: Delivery;
    /**
     * How the merged canonical case is built from each system's view of it (docs/canonical-model.md). origin: the system that created the case wins and a later view only fills what it lacks; latest: the view that most recently said something about the field group wins. Notes, documents, payments, events and references are always the union of every view.
     */
    merge?: {
      /**
       * status and closedAt (default latest: from the system that last changed it).
       */
      status?: 'origin' | 'latest';
      /**
       * parties: person details, addresses, contacts (default origin).
       */
      parties?: 'origin' | 'latest';
      /**
       * type, subtype, title, summary, receivedAt, createdAt (default origin).
       */
      details?: 'origin' | 'latest';
      /**
       * an extensions.<adapter> block several views hold (default origin); a block only one view holds is always kept.
       */
      extensions?: 'origin' | 'latest';
    };
    /**
     * How fast a job held by a crashed worker (SIGKILL, OOM, lost machine) is taken over by another one.
     */
    worker?: {
      /**
       * How long a worker's lock on a job lasts; the worker renews it every half of this while it runs the job, and a dead worker's lock lapses after it (default 30000).
       */
      lockDurationMs?: number;
      /**
       * How often workers look for jobs whose lock lapsed (default 5000; BullMQ's own default is 30000). Only a job whose lock is gone is taken over, so a shorter interval takes no running job away; it shortens the wait of a job no worker runs any more.
       */
      stalledIntervalMs?: number;
      /**
       * Takeovers before a job counts as failed (default 1).
       */
      maxStalledCount?: number;
    };
    /**
     * On SIGTERM/SIGINT the hub finishes in-flight work for at most this long, then closes what is left and exits, whether or not Redis is reachable (default 30000).
     */
    shutdownTimeoutMs?: number;
    /**
     * How the hub uses Redis beyond its URL (REDIS_URL / --redis, which may also be redis+sentinel://host:port,host:port/master).
     */
    redis?: {
      /**
       * Redis Sentinel nodes to ask for the current primary; used instead of the URL's host (the URL still gives password and db).
       *
       * @minItems 1
       */
      sentinels?: string[];
      /**
       * The Sentinel master group name (required with sentinels).
       */
      name?: string;
      /**
       * Password of the Sentinel nodes, if they need one. Use ${ENV}.
       */
      sentinelPassword?: string;
      /**
       * Intake acknowledges a case only once its writes reached this many replicas (Redis WAIT); otherwise the source gets a retryable error (503). Default 0.
       */
      minReplicas?: number;
      /**
       * How long intake waits for minReplicas (default 1000).
       */
      minReplicasTimeoutMs?: number;
    };
  };
  ops?: Ops;
  connections: {
    [k: string]: Connection;
  };
  routes: Route[];
}
export interface Delivery {
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  rateLimit?: {
    max: number;
    durationMs: number;
  };
}
/**
 * Operations console (/ops, /ops/queues): who may sign in and how; see docs/operations.md.
 */
export interface Ops {
  /**
   * login (default): users sign in with a password checked against passwordHash. proxy: a reverse proxy authenticates and passes the user name in a header.
   */
  auth?: 'login' | 'proxy';
  users?: {
    name: string;
    /**
     * viewer: read only; operator: may also replay and discard dead letters.
     */
    role: 'viewer' | 'operator';
    /**
     * scrypt hash made by hashPassword (src/ops/password.ts); never the password itself. Use ${ENV_VAR} to keep it out of the file.
     */
    passwordHash?: string;
  }[];
  proxy?: {
    /**
     * Header carrying the authenticated user name (default X-Forwarded-User).
     */
    userHeader?: string;
    /**
     * Optional header carrying the role (viewer or operator); otherwise the role comes from users.
     */
    roleHeader?: string;
    /**
     * Role of an authenticated user not listed in users (default: refused).
     */
    defaultRole?: 'viewer' | 'operator';
    /**
     * Peer addresses allowed to set the headers (default 127.0.0.1 and ::1).
     */
    trustedProxies?: string[];
  };
  session?: {
    /**
     * How long a sign-in lasts (default 480).
     */
    ttlMinutes?: number;
    /**
     * Mark the session cookie Secure (set true behind a TLS-terminating proxy; default: only when the request itself is HTTPS).
     */
    secureCookie?: boolean;
    /**
     * Key for CSRF tokens in proxy mode; default: a random key kept in Redis and shared by every hub process.
     */
    secret?: string;
  };
  circuit?: {
    /**
     * Consecutive failed deliveries that open a connection's circuit (default 5).
     */
    failureThreshold?: number;
    /**
     * After this long without another failure an open circuit shows half-open (default 300).
     */
    coolDownSeconds?: number;
  };
  /**
   * Days checked by reconciliation on /ops and in /metrics (default 7).
   */
  reconciliationDays?: number;
}
export interface Connection {
  /**
   * Folder name under adapters/.
   */
  adapter: string;
  description?: string;
  /**
   * Start the adapter's sandbox peer and connect to it (settings given here override the sandbox's).
   */
  sandbox?: boolean;
  settings?: {
    [k: string]: unknown;
  };
  sources?: {
    [k: string]: {
      everyMs?: number;
      enabled?: boolean;
      options?: {
        [k: string]: unknown;
      };
      /**
       * How an event of this source finds its hub case. own-id: only by its own peer id (a case this source, or a delivery to this connection, linked before). references: also by the hub ids, ExternalIds and other systems' ids the event carries. Default: own-id for a connection no route delivers to (it only creates cases), references otherwise.
       */
      join?: 'own-id' | 'references';
    };
  };
  delivery?: Delivery;
}
export interface Route {
  name: string;
  description?: string;
  enabled?: boolean;
  from: {
    connection: string;
    source: string;
  };
  filter?: Filter;
  /**
   * @minItems 1
   */
  to: Target[];
}
export interface Target {
  /**
   * Stable name of this target within the route (defaults to connection-action).
   */
  id?: string;
  connection: string;
  action: string;
  options?: {
    [k: string]: unknown;
  };
  /**
   * When the target already holds a case for this hub case: update it (default), add the event to it as a note, or create a new case linked to it (once per route). Passed to the action as DeliveryRequest.onExisting.
   */
  onExisting?: 'update' | 'note' | 'create-linked';
  filter?: Filter;
  mapping?: Mapping;
}
/**
 * Field-mapping overrides applied to the canonical case before the target's action runs, in this order: copy, set, remove.
 */
export interface Mapping {
  /**
   * target path -> source path, both canonical paths such as parties[role=customer].roles or extensions.icasework.team.
   */
  copy?: {
    [k: string]: string;
  };
  /**
   * canonical path -> constant value.
   */
  set?: {
    [k: string]: unknown;
  };
  remove?: string[];
}
