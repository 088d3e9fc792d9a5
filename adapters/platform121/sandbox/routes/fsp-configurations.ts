/** GET and POST /programs/{programId}/fsp-configurations (ProgramFspConfigurationResponseDto). */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import type { SandboxFspConfig, SandboxProgram } from '../programs';
import { ENABLED_FSPS, FSPS, FSP_PROPERTIES, SECRET_PROPERTIES } from '../reference';
import type { SandboxStore } from '../store';

export function fspConfigurationDto(program: SandboxProgram, c: SandboxFspConfig, withProperties: boolean): Record<string, unknown> {
  const known = FSP_PROPERTIES[c.fspName] ?? {};
  const props = c.properties ?? [];
  const pending = Object.entries(known).some(([name, p]) => p.required && !props.some((x) => x.name === name));
  return {
    programId: program.id,
    fspName: c.fspName,
    name: c.name,
    label: c.label,
    state: pending ? 'configuration-pending' : 'configured',
    fsp: {
      name: c.fspName,
      integrationType: c.fspName === 'Excel' || c.fspName === 'Intersolve-voucher-paper' ? 'csv' : 'api',
      attributes: (c.requiredAttributes ?? []).map((name) => ({ name, isRequired: true })),
    },
    properties: withProperties
      ? [...props]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((p) => ({ name: p.name, value: SECRET_PROPERTIES.has(p.name) ? '[********]' : p.value, updated: p.updated }))
      : [],
  };
}

function list(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program:fsp-config.read');
  res.json(program.fspConfigs.map((c) => fspConfigurationDto(program, c, true)));
}

function create(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program:fsp-config.create');
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (typeof body.name !== 'string' || !body.name) errors.push(cvError('name', body.name, { isNotEmpty: 'name should not be empty', isString: 'name must be a string' }, body));
  if (!isRecord(body.label)) errors.push(cvError('label', body.label, { isNotEmpty: 'label should not be empty' }, body));
  if (typeof body.fspName !== 'string' || !FSPS.includes(body.fspName)) {
    errors.push(cvError('fspName', body.fspName, { isEnum: `fspName must be one of the following values: ${FSPS.join(', ')}` }, body));
  }
  const properties = body.properties === undefined ? [] : body.properties;
  if (!Array.isArray(properties)) errors.push(cvError('properties', properties, { isArray: 'properties must be an array' }, body));
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  const fspName = String(body.fspName);
  const name = String(body.name);
  const label = isRecord(body.label) ? body.label : {};
  if (!ENABLED_FSPS.has(fspName)) throw new HttpReply(400, { statusCode: 400, message: `FSP "${fspName}" is not enabled on this instance.` });
  if (typeof label.en !== 'string' || !label.en) throw new HttpReply(400, { statusCode: 400, message: 'Label must have an English translation' });
  if (program.fspConfigs.some((c) => c.name === name)) throw new HttpReply(409, { statusCode: 409, message: `Program FSP-configuration with name ${name} already exists` });
  const allowed = FSP_PROPERTIES[fspName] ?? {};
  const props: NonNullable<SandboxFspConfig['properties']> = [];
  const now = store.now();
  for (const p of Array.isArray(properties) ? properties : []) {
    const pname = isRecord(p) ? String(p.name) : '';
    const value = isRecord(p) ? p.value : undefined;
    const spec = allowed[pname];
    if (!spec) {
      throw new HttpReply(400, { statusCode: 400, message: `For fsp ${fspName}, only the following values are allowed: ${Object.keys(allowed).join(' ')}. You tried to add ${pname}.` });
    }
    if (props.some((x) => x.name === pname)) throw new HttpReply(400, { statusCode: 400, message: `Duplicate property names are not allowed. Found duplicate: ${pname}` });
    const ok = spec.type === 'string' ? typeof value === 'string' : Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (!ok) throw new HttpReply(400, { statusCode: 400, message: `Invalid value type for property "${pname}". Expected ${spec.type}, got ${Array.isArray(value) ? 'array' : typeof value}.` });
    props.push({ name: pname, value: Array.isArray(value) ? value.map(String) : String(value), updated: now });
  }
  const config: SandboxFspConfig = { name, fspName, label: Object.fromEntries(Object.entries(label).map(([k, v]) => [k, String(v)])), properties: props };
  program.fspConfigs.push(config);
  res.status(201).json(fspConfigurationDto(program, config, true));
}

export function mountFspConfigurations(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/fsp-configurations', (req, res) => list(store, req, res));
  api.post('/programs/:programId/fsp-configurations', (req, res) => create(store, req, res));
}
