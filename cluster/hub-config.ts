/**
 * The hub configuration every api and worker host of the bed shares: the ETD web form intake and its route to
 * iCasework and the IIZUKA Case Manager, both real (non-sandbox) connections pointing at the peer hosts. Secrets
 * come from the environment, as in a real deployment.
 */
import { randomBytes } from 'node:crypto';

export interface Secrets {
  CASEWAY_DATA_KEY: string;
  CASEWAY_API_TOKEN: string;
  ETD_FORM_API_KEY: string;
  IIZUKA_API_KEY: string;
  ICW_KEY: string;
  ICW_SECRET: string;
}

export function makeSecrets(): Secrets {
  return {
    CASEWAY_DATA_KEY: randomBytes(32).toString('base64'),
    CASEWAY_API_TOKEN: randomBytes(24).toString('hex'),
    ETD_FORM_API_KEY: `cluster-form-${randomBytes(12).toString('hex')}`,
    IIZUKA_API_KEY: `cluster-iizuka-${randomBytes(12).toString('hex')}`,
    ICW_KEY: `cluster-icw-${randomBytes(6).toString('hex')}`,
    ICW_SECRET: randomBytes(16).toString('hex'),
  };
}

export interface HubConfigOptions {
  iizuka: string;
  icasework: string;
  peerPort: number;
  reportsPort: number;
  /** hub.redis.minReplicas; undefined leaves the option out (a build without it refuses the key). */
  minReplicas?: number;
  icaseworkRatePerSecond: number;
  concurrency: number;
}

export function hubConfigYaml(o: HubConfigOptions): string {
  return `# Written by cluster/ for one run of the multi-host test bed; not a config to copy as is.
version: 1
hub:
  name: caseway-cluster
  dataKey: \${CASEWAY_DATA_KEY}
  defaults: { attempts: 8, backoffMs: 1000 }
${o.minReplicas !== undefined ? `  redis: { minReplicas: ${o.minReplicas} }\n` : ''}
connections:
  etd-form:
    adapter: etd
    description: ETD web form intake
    settings:
      inbound:
        apiKeys:
          - name: cluster-load
            key: \${ETD_FORM_API_KEY}
  iizuka:
    adapter: etd
    description: IIZUKA Case Manager (peer host)
    settings:
      baseUrl: http://${o.iizuka}:${o.peerPort}
      apiKey: \${IIZUKA_API_KEY}
    delivery: { concurrency: ${o.concurrency} }
  icasework:
    adapter: icasework
    description: iCasework (peer host)
    settings:
      urlStyle: db
      baseUrl: http://${o.icasework}:${o.peerPort}
      reportsBaseUrl: http://${o.icasework}:${o.reportsPort}
      account: caseway
      key: \${ICW_KEY}
      secret: \${ICW_SECRET}
      authMode: signature
    delivery: { concurrency: ${o.concurrency}, rateLimit: { max: ${o.icaseworkRatePerSecond}, durationMs: 1000 } }

routes:
  - name: etd-applications
    description: ETD web form -> iCasework case + IIZUKA Case Manager
    from: { connection: etd-form, source: application }
    filter: { path: type, equals: etd-application }
    to:
      - id: icasework-case
        connection: icasework
        action: createCase
        options: { caseType: EmergencyTravelDocument, customerRole: applicant }
      - id: iizuka-application
        connection: iizuka
        action: submitApplication
        mapping:
          remove: [notes]
`;
}
