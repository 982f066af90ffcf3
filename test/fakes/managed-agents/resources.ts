/** Session resources (`resources` on sessions.create, and file mounts): at create time and via /v1/sessions/{sid}/resources. */
import type { FileStore } from './files.js';
import type { SessionObj } from './types.js';
import { badRequest, isObject, newId, notFound, now, requireString, type Json } from './util.js';

/** The documented cap on file resources per session. */
const MAX_FILE_RESOURCES = 999;

/** A create-time or added resource, as the session stores and echoes it. */
export function resolveResource(r: unknown, where: string, files: FileStore, sessionId: string, existing: unknown[]): Json {
  if (!isObject(r)) throw badRequest(`${where}: expected an object`);
  const ts = now();
  switch (r.type) {
    case 'file': {
      const fileId = requireString(r, 'file_id', where);
      if (!files.has(fileId)) throw badRequest(`${where}.file_id: file not found: ${fileId}`);
      if (existing.filter((e) => isObject(e) && e.type === 'file').length >= MAX_FILE_RESOURCES) {
        throw badRequest(`${where}: at most ${MAX_FILE_RESOURCES} file resources per session`);
      }
      const mount = typeof r.mount_path === 'string' && r.mount_path !== '' ? r.mount_path : fileId;
      const mountPath = mount.startsWith('/') ? mount : `/mnt/session/uploads/${mount}`;
      // [Inf] two resources cannot share a mount path.
      if (existing.some((e) => isObject(e) && e.mount_path === mountPath)) {
        throw badRequest(`${where}.mount_path: ${mountPath} is already mounted in this session`);
      }
      return {
        id: newId('sesrsc'),
        type: 'file',
        // The session mounts its own copy, which has a different file id. [Docs]
        file_id: files.copyForSession(fileId, sessionId).id,
        mount_path: mountPath,
        created_at: ts,
        updated_at: ts,
      };
    }
    case 'github_repository': {
      const url = requireString(r, 'url', where);
      const repo =
        url
          .replace(/\.git$/, '')
          .split('/')
          .pop() ?? 'repo';
      // authorization_token is deliberately never echoed.
      return {
        id: newId('sesrsc'),
        type: 'github_repository',
        url,
        mount_path: typeof r.mount_path === 'string' ? r.mount_path : `/workspace/${repo}`,
        checkout: r.checkout ?? null,
        created_at: ts,
        updated_at: ts,
      };
    }
    case 'memory_store':
      return {
        type: 'memory_store',
        memory_store_id: requireString(r, 'memory_store_id', where),
        access: r.access ?? 'read_write',
        instructions: r.instructions ?? null,
      };
    default:
      throw badRequest(`${where}.type: unknown resource type ${JSON.stringify(r.type)}`);
  }
}

export function addResource(session: SessionObj, body: Json, files: FileStore): Json {
  // The SDK's `add` only sends files; docs also allow repositories. [Docs]
  if (body.type !== 'file' && body.type !== 'github_repository') throw badRequest(`type: expected 'file' or 'github_repository'`);
  const resource = resolveResource(body, 'body', files, session.id, session.resources);
  session.resources.push(resource);
  session.updated_at = now();
  return resource;
}

export function findResource(session: SessionObj, id: string): Json {
  const r = session.resources.find((e) => isObject(e) && e.id === id);
  if (!isObject(r)) throw notFound('Session resource', id);
  return r;
}

export function deleteResource(session: SessionObj, id: string): Json {
  const r = findResource(session, id);
  session.resources.splice(session.resources.indexOf(r), 1);
  session.updated_at = now();
  return { id, type: 'session_resource_deleted' };
}
