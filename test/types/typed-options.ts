/**
 * Type-level tests: nothing here runs. `npm run typecheck` (tsconfig.json includes test/) compiles this file, and
 * every `@ts-expect-error` below must meet an error: were options to go untyped again (Record<string, unknown>),
 * the misspelt option would compile, the directive would be unused, and the typecheck would fail.
 */
import type { ActionDefinition, AdapterContext, AnyActionDefinition, ConstOptionsSchema, DeliveryRequest, Emit, OptionsOf } from '../../src/core/adapter';
import { actions as icasework } from '../../adapters/icasework/src/actions';
import { reportSource } from '../../adapters/icasework/src/report-source';
import { setStatus } from '../../adapters/platform121/src/actions';
import { importCaseAction } from '../../adapters/isupport/src/import-action';
import { post } from '../../adapters/webhook/src/post';

type RequestOf<A> = A extends { deliver(request: infer R, ctx: never): unknown } ? R : never;
type OptionsOfAction<A> = RequestOf<A> extends DeliveryRequest<infer O> ? O : never;

// 1. An adapter's own action: request.options is typed from its schema.
declare const createCase: OptionsOfAction<typeof icasework.createCase>;
const caseType: string | undefined = createCase.caseType;
const lookupExisting: boolean | undefined = createCase.lookupExisting;
// @ts-expect-error misspelt option: createCase has caseType, not caseTyp
void createCase.caseTyp;
// @ts-expect-error an option's type follows its schema: externalIdOnCreate is a boolean
const notText: string | undefined = createCase.externalIdOnCreate;

declare const status: OptionsOfAction<typeof setStatus>;
// The enum of the schema, not any string.
const settable: 'included' | 'paused' | 'validated' | 'declined' | undefined = status.status;
// @ts-expect-error misspelt option of platform121 setStatus
void status.confirmTimeout;

declare const importOptions: OptionsOfAction<typeof importCaseAction>;
// @ts-expect-error misspelt option of isupport importCase
void importOptions.boom;

declare const postOptions: OptionsOfAction<typeof post>;
// @ts-expect-error misspelt option of webhook post
void postOptions.referencePointr;

// 2. A source's options are typed too.
declare const report: Parameters<typeof reportSource.poll>[2];
const reportId: string = report.reportId; // required by the schema, so not undefined
// @ts-expect-error misspelt option of the icasework report source
void report.reportID;

// 3. Inside deliver(): the contextual type reaches the parameter, so a misspelling there fails too.
const exampleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['queue'],
  properties: { queue: { type: 'string' }, priority: { enum: ['low', 'high'], default: 'low' } },
} as const satisfies ConstOptionsSchema;
export const example: ActionDefinition<unknown, typeof exampleSchema> = {
  description: 'type test only',
  optionsSchema: exampleSchema,
  async deliver(request) {
    const queue: string = request.options.queue;
    const priority: 'low' | 'high' = request.options.priority ?? 'low';
    // @ts-expect-error misspelt option inside deliver()
    void request.options.queu;
    return { summary: { queue, priority } };
  },
};

// 4. A schema json-schema-to-ts cannot read does not quietly become Record<string, unknown>.
type Loose = OptionsOf<{ type: string }>;
const loose: Loose extends never ? true : false = true;

// 5. An action declared without a schema type cannot be listed by an adapter (its options would be untyped).
declare function listed(action: AnyActionDefinition<unknown>): void;
declare const untyped: ActionDefinition<unknown>;
// @ts-expect-error ActionDefinition<S> alone has the erased schema type, not a const schema
listed(untyped);

export const used = [caseType, lookupExisting, notText, settable, reportId, loose];
export type Unused = AdapterContext<unknown> | Emit;
