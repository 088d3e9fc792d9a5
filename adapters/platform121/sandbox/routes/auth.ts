/** POST /users/login (201, token in body and cookie) and GET /users/current. */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import { signJwt } from '../jwt';
import { UNAUTHORIZED } from '../reference';
import type { SandboxStore } from '../store';

function login(store: SandboxStore, req: Request, res: Response): void {
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (typeof body.username !== 'string' || !body.username) errors.push(cvError('username', undefined, { isNotEmpty: 'username should not be empty' }, {}));
  if (typeof body.password !== 'string' || !body.password) errors.push(cvError('password', undefined, { isNotEmpty: 'password should not be empty' }, {}));
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  const username = String(body.username).toLowerCase();
  const user = store.users.find((u) => u.username === username);
  if (!user || user.password !== body.password) throw new HttpReply(401, UNAUTHORIZED);
  const exp = Math.floor(Date.now() / 1000) + store.options.tokenTtlSeconds;
  const token = signJwt({ id: user.id, username: user.username, exp, admin: user.admin, isOrganizationAdmin: user.admin, gen: store.tokenGeneration }, store.secret);
  const portal = String(req.headers['x-121-interface'] ?? '') === 'portal';
  const expires = new Date(exp * 1000);
  res.setHeader('Set-Cookie', `${portal ? 'access_token_portal' : 'access_token_general'}=${token}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; SameSite=Lax`);
  store.logins++;
  user.lastLogin = new Date().toISOString();
  res.status(201).json({
    username: user.username,
    permissions: store.permissionsOf(user),
    access_token_general: token,
    expires: expires.toISOString(),
    isAdmin: user.admin,
    isEntraUser: false,
    isOrganizationAdmin: user.admin,
  });
}

export function mountAuth(api: Router, store: SandboxStore): void {
  api.post('/users/login', (req, res) => login(store, req, res));
  api.get('/users/current', (req, res) => {
    const user = store.authenticated(req);
    res.json({ user: { id: user.id, username: user.username, isAdmin: user.admin, permissions: store.permissionsOf(user) } });
  });
}
