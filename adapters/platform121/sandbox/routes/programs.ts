/** GET /programs/{programId}: the program's configuration. */
import type { Router } from 'express';
import { HttpReply } from '../http';
import type { SandboxProgram } from '../programs';
import { FORBIDDEN } from '../reference';
import type { SandboxStore } from '../store';

export function programReturn(program: SandboxProgram): Record<string, unknown> {
  return {
    id: program.id,
    titlePortal: program.titlePortal,
    currency: program.currency,
    languages: program.languages,
    paymentAmountMultiplierFormula: program.paymentAmountMultiplierFormula,
    enableMaxPayments: program.enableMaxPayments,
    enableScope: program.enableScope,
    allowEmptyPhoneNumber: program.allowEmptyPhoneNumber,
    fullnameNamingConvention: program.fullnameNamingConvention,
    programRegistrationAttributes: program.attributes.map((a) => ({
      name: a.name,
      label: { en: a.label ?? a.name },
      type: a.type,
      options: a.options ? a.options.map((o) => ({ option: o, label: { en: o } })) : null,
      isRequired: a.isRequired ?? false,
    })),
    programFspConfigurations: program.fspConfigs.map((c) => ({ name: c.name, fspName: c.fspName, label: c.label })),
  };
}

export function mountPrograms(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId', (req, res) => {
    const program = store.programParam(req);
    const user = store.authenticated(req);
    if (!user.assignments.has(program.id)) throw new HttpReply(403, FORBIDDEN);
    res.json(programReturn(program));
  });
}
