/**
 * GET /programs/{programId}[?formatProgramReturnDto=true]: any logged-in user may read any program; unknown gives
 * 404 {"errors":"No program found with id N"}. Formatted: ProgramReturnDto with `fspConfigurations` (properties []),
 * nulls omitted; unformatted: the entity with `programFspConfigurations` (raw rows) and `fspConfigurations`.
 */
import type { Router } from 'express';
import { HttpReply } from '../http';
import type { SandboxProgram } from '../programs';
import { NOT_NUMERIC } from '../reference';
import type { SandboxStore } from '../store';
import { fspConfigurationDto } from './fsp-configurations';

function formatted(program: SandboxProgram): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: program.id,
    validation: false,
    titlePortal: program.titlePortal,
    currency: program.currency,
    paymentAmountMultiplierFormula: program.paymentAmountMultiplierFormula ?? undefined,
    fspConfigurations: program.fspConfigs.map((c) => fspConfigurationDto(program, c, false)),
    targetNrRegistrations: program.targetNrRegistrations ?? undefined,
    budget: program.budget ?? undefined,
    programRegistrationAttributes: program.attributes.map((a) => ({
      name: a.name,
      label: { en: a.label ?? a.name },
      type: a.type,
      isRequired: a.isRequired ?? false,
      options: a.options ? a.options.map((o) => ({ option: o, label: { en: o } })) : undefined,
      scoring: {},
      showInPeopleAffectedTable: false,
      editableInPortal: true,
      includeInTransactionExport: false,
      duplicateCheck: false,
    })),
    fullnameNamingConvention: program.fullnameNamingConvention,
    languages: program.languages,
    enableMaxPayments: program.enableMaxPayments,
    enableScope: program.enableScope,
  };
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

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
    programFspConfigurations: program.fspConfigs.map((c, i) => ({ id: i + 1, programId: program.id, name: c.name, fspName: c.fspName, label: c.label })),
    fspConfigurations: program.fspConfigs.map((c) => fspConfigurationDto(program, c, false)),
  };
}

export function mountPrograms(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId', (req, res) => {
    const raw = String(req.params.programId);
    store.authenticated(req);
    if (!/^\d+$/.test(raw)) throw new HttpReply(400, NOT_NUMERIC);
    const format = req.query.formatProgramReturnDto;
    if (format !== undefined && format !== 'true' && format !== 'false') {
      throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (boolean string is expected)', error: 'Bad Request' });
    }
    const program = store.programs.get(Number(raw));
    if (!program) throw new HttpReply(404, { errors: `No program found with id ${raw}` });
    res.json(format === 'true' ? formatted(program) : programReturn(program));
  });
}
