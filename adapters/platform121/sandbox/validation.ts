/**
 * Registration data rules of the sandbox: row validation of the import (registrations-input-validator.ts, row errors
 * in 121's bare-array format), attribute type checks, inserting rows, and PATCH validation/apply with data events.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxAttribute, SandboxProgram } from './programs';
import type { AttributeStored, SandboxRegistration, SandboxStore } from './store';

const DATE_DD_MM_YYYY = /^(0[1-9]|[12]\d|3[01])-(0[1-9]|1[0-2])-(19[2-9]\d|200\d|201\d)$/;

function stringToBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(s)) return true;
  if (['false', 'no', '0', ''].includes(s)) return false;
  return undefined;
}

/** English language name (lower case) -> program language code. */
export function languageMapping(program: SandboxProgram): Record<string, string> {
  const names = new Intl.DisplayNames(['en'], { type: 'language' });
  const mapping: Record<string, string> = {};
  for (const code of program.languages) mapping[(names.of(code.slice(0, 2)) ?? code).trim().toLowerCase()] = code;
  return mapping;
}

/** One attribute value of an import row; unknown keys are ignored elsewhere. */
export function checkAttribute(att: SandboxAttribute, value: unknown, present: boolean): { value?: AttributeStored; error?: string } {
  switch (att.type) {
    case 'tel': {
      if (value === undefined || value === null || value === '') return { value: att.name === 'phoneNumber' ? '' : undefined };
      const digits = String(value).replace(/\D/g, '');
      // TWILIO_MODE=DISABLED only sanitises; the sandbox also refuses numbers too short to be real (lookup stand-in).
      if (digits.length < 8) return { error: 'PhoneNumber is not valid according to Twilio lookup' };
      return { value: digits };
    }
    case 'dropdown': {
      if (!att.isRequired && (value === undefined || value === null || value === '')) return {};
      const options = att.options ?? [];
      if (typeof value === 'string' && options.includes(value)) return { value };
      return { error: `Value '${String(value)}' is not in the allowed options: '${options.length ? options.join(', ') : 'No options available'}' for attribute '${att.name}'` };
    }
    case 'numeric': {
      if (!present) return {};
      if (value === null || value === '' || Number.isNaN(Number(value)) || typeof value === 'boolean') return { error: 'Value is not a valid numeric' };
      return { value: Number(value) };
    }
    case 'boolean': {
      if (!present) return {};
      const b = stringToBoolean(value);
      return b === undefined ? { error: 'Value is not a valid boolean' } : { value: b };
    }
    case 'date': {
      if (!present || value === null || value === undefined || value === '') return {};
      return typeof value === 'string' && DATE_DD_MM_YYYY.test(value) ? { value } : { error: 'Value is not a valid date' };
    }
    case 'text':
    default: {
      if (!present || value === null || value === undefined) return {};
      return typeof value === 'string' ? { value } : { error: 'Value is not a valid text' };
    }
  }
}

/** Row validation of POST /registrations; row errors in 121's format. */
export function validateRows(
  store: SandboxStore,
  program: SandboxProgram,
  rows: Array<Record<string, unknown>>,
): { errors: Array<Record<string, unknown>>; cleaned: Array<Record<string, unknown>> } {
  const errors: Array<Record<string, unknown>> = [];
  const cleaned: Array<Record<string, unknown>> = [];
  const mapping = languageMapping(program);
  const rowError = (i: number, column: string, value: unknown, error: string, referenceId: unknown) => {
    const e: Record<string, unknown> = { column, error, lineNumber: i + 1 };
    if (typeof referenceId === 'string') e.referenceId = referenceId;
    e.value = value === undefined ? null : value;
    errors.push(e);
  };
  rows.forEach((row, i) => {
    const ref = row.referenceId;
    const out: Record<string, unknown> = { referenceId: ref, programFspConfigurationName: row.programFspConfigurationName };
    if (typeof ref === 'string' && store.regs.some((r) => r.referenceId === ref)) {
      rowError(i, 'referenceId', ref, 'referenceId already exists in database', ref);
    }
    const lang = typeof row.preferredLanguage === 'string' ? row.preferredLanguage.trim().toLowerCase() : row.preferredLanguage;
    if (lang) {
      if (typeof lang === 'string' && program.languages.includes(lang)) out.preferredLanguage = lang;
      else if (typeof lang === 'string' && mapping[lang]) out.preferredLanguage = mapping[lang];
      else {
        rowError(
          i,
          'preferredLanguage',
          row.preferredLanguage,
          `Language error: Allowed values of this program for preferredLanguage: ${Object.values(mapping).join(', ')}, ${Object.keys(mapping).join(', ')}`,
          ref,
        );
      }
    } else out.preferredLanguage = 'en';
    const fsp = program.fspConfigs.find((c) => c.name === row.programFspConfigurationName);
    if (!fsp) {
      rowError(i, 'programFspConfigurationName', row.programFspConfigurationName, `FspConfigurationName ${String(row.programFspConfigurationName)} not found in program`, ref);
    }
    if (!row.phoneNumber && !program.allowEmptyPhoneNumber) {
      rowError(i, 'phoneNumber', row.phoneNumber, 'PhoneNumber is not allowed to be empty', ref);
    }
    if (row.paymentAmountMultiplier !== undefined && row.paymentAmountMultiplier !== null) {
      if (program.paymentAmountMultiplierFormula) {
        rowError(i, 'paymentAmountMultiplier', row.paymentAmountMultiplier, 'paymentAmountMultiplier is not allowed: this program calculates it with a paymentAmountMultiplierFormula', ref);
      } else if (!Number.isInteger(Number(row.paymentAmountMultiplier)) || Number(row.paymentAmountMultiplier) < 1) {
        rowError(i, 'paymentAmountMultiplier', row.paymentAmountMultiplier, 'paymentAmountMultiplier must be a positive integer', ref);
      } else out.paymentAmountMultiplier = Number(row.paymentAmountMultiplier);
    }
    if (program.enableMaxPayments && row.maxPayments !== undefined && row.maxPayments !== null) out.maxPayments = Number(row.maxPayments);
    if (program.enableScope && typeof row.scope === 'string') out.scope = row.scope.toLowerCase();
    const attributes: Record<string, AttributeStored> = {};
    for (const att of program.attributes) {
      const present = Object.prototype.hasOwnProperty.call(row, att.name);
      const value = row[att.name];
      const checked = checkAttribute(att, value, present);
      if (checked.error) rowError(i, att.name, value, checked.error, ref);
      else if (checked.value !== undefined) attributes[att.name] = checked.value;
    }
    for (const required of fsp?.requiredAttributes ?? []) {
      if (attributes[required] === undefined || attributes[required] === null || attributes[required] === '') {
        rowError(i, required, row[required], `Attribute '${required}' is required for FSP configuration '${fsp?.name}'`, ref);
      }
    }
    out.attributes = attributes;
    cleaned.push(out);
    if (errors.length >= 5000) return;
  });
  return { errors, cleaned };
}

export function insertRows(store: SandboxStore, program: SandboxProgram, cleaned: Array<Record<string, unknown>>, username: string): void {
  for (const row of cleaned) {
    const seq = (store.programSeq.get(program.id) ?? 0) + 1;
    store.programSeq.set(program.id, seq);
    const now = store.now();
    const attributes: Record<string, AttributeStored> = {};
    const given = row.attributes;
    if (typeof given === 'object' && given !== null) {
      for (const [k, v] of Object.entries(given)) {
        if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      }
    }
    const reg: SandboxRegistration = {
      id: ++store.seq.reg,
      programId: program.id,
      registrationProgramId: seq,
      referenceId: typeof row.referenceId === 'string' ? row.referenceId : randomUUID(),
      status: 'new',
      preferredLanguage: String(row.preferredLanguage ?? 'en'),
      paymentAmountMultiplier: typeof row.paymentAmountMultiplier === 'number' ? row.paymentAmountMultiplier : 1,
      maxPayments: typeof row.maxPayments === 'number' ? row.maxPayments : null,
      paymentCount: 0,
      programFspConfigurationName: String(row.programFspConfigurationName),
      scope: typeof row.scope === 'string' ? row.scope : '',
      inclusionScore: 0,
      created: now,
      updated: now,
      attributes,
      deleted: false,
    };
    store.regs.push(reg);
    store.addEvent(reg, { type: 'registrationStatusChange', fieldChanged: 'status', oldValue: null, newValue: 'new', reason: null, username });
  }
}

export const UNCHANGED = '__unchanged__';

/** PATCH data validation and apply; returns the error texts ("col: ...") or [] after applying ([UNCHANGED] when nothing changed). */
export function applyUpdate(
  store: SandboxStore,
  program: SandboxProgram,
  reg: SandboxRegistration,
  data: Record<string, unknown>,
  reason: string | null,
  username: string,
  apply: boolean,
): string[] {
  const errors: string[] = [];
  const changes: Array<{ key: string; old: AttributeStored; value: AttributeStored; kind: 'attribute' | 'generic' | 'fsp' }> = [];
  const typeError = (key: string, value: unknown, type: string) =>
    `${key}: The value '${String(value)}' given for the attribute '${key}' does not have the correct format for type '${type}'`;
  for (const [key, value] of Object.entries(data)) {
    const att = program.attributes.find((a) => a.name === key);
    if (att) {
      if (value === null) {
        if (att.isRequired) errors.push(typeError(key, value, att.type));
        else changes.push({ key, old: reg.attributes[key] ?? null, value: null, kind: 'attribute' });
        continue;
      }
      const checked = checkAttribute(att, value, true);
      if (checked.error || checked.value === undefined) errors.push(typeError(key, value, att.type));
      else changes.push({ key, old: reg.attributes[key] ?? null, value: checked.value, kind: 'attribute' });
      continue;
    }
    if (key === 'preferredLanguage') {
      const lang = typeof value === 'string' ? value.trim().toLowerCase() : '';
      const code = program.languages.includes(lang) ? lang : languageMapping(program)[lang];
      if (!code) errors.push(typeError(key, value, 'language'));
      else changes.push({ key, old: reg.preferredLanguage, value: code, kind: 'generic' });
    } else if (key === 'paymentAmountMultiplier' || key === 'maxPayments') {
      if (value !== null && (!Number.isInteger(Number(value)) || Number(value) < 1)) errors.push(typeError(key, value, 'numeric'));
      else changes.push({ key, old: key === 'maxPayments' ? reg.maxPayments : reg.paymentAmountMultiplier, value: value === null ? null : Number(value), kind: 'generic' });
    } else if (key === 'scope') {
      changes.push({ key, old: reg.scope, value: String(value ?? ''), kind: 'generic' });
    } else if (key === 'programFspConfigurationName') {
      if (!program.fspConfigs.some((c) => c.name === value)) errors.push(`${key}: FspConfigurationName ${String(value)} not found in program`);
      else changes.push({ key, old: reg.programFspConfigurationName, value: String(value), kind: 'fsp' });
    } else {
      errors.push(`${key}: The attribute '${key}' is not known for this program`);
    }
  }
  if (errors.length || !apply) return errors;
  let changed = false;
  for (const c of changes) {
    if (String(c.old ?? '') === String(c.value ?? '')) continue;
    changed = true;
    if (c.kind === 'attribute') {
      if (c.value === null) delete reg.attributes[c.key];
      else reg.attributes[c.key] = c.value;
    } else if (c.key === 'preferredLanguage') reg.preferredLanguage = String(c.value);
    else if (c.key === 'paymentAmountMultiplier') reg.paymentAmountMultiplier = Number(c.value ?? 1);
    else if (c.key === 'maxPayments') reg.maxPayments = c.value === null ? null : Number(c.value);
    else if (c.key === 'scope') reg.scope = String(c.value);
    else if (c.kind === 'fsp') reg.programFspConfigurationName = String(c.value);
    store.addEvent(reg, {
      type: c.kind === 'fsp' ? 'fspChange' : 'registrationDataChange',
      fieldChanged: c.key,
      oldValue: c.old === null || c.old === undefined ? null : String(c.old),
      newValue: c.value === null ? null : String(c.value),
      reason,
      username,
    });
  }
  if (changed) reg.updated = store.now();
  return changed ? [] : [UNCHANGED];
}
