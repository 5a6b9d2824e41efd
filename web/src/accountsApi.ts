// Accounts (issue 14): log in and out, who am I, my password and API keys, and the admin's
// users. Same `request()` as the rest of the app (cookies, the CSRF header on changes).

import { request } from './api'
import type { KeyView, Me, NewKeyMade, UserView } from './types'

const enc = encodeURIComponent

export function getMe(): Promise<Me> {
  return request<Me>('/api/auth/me')
}

export function login(username: string, password: string): Promise<Me> {
  return request<Me>('/api/auth/login', { method: 'POST', json: { username, password } })
}

export function logout(): Promise<void> {
  return request<void>('/api/auth/logout', { method: 'POST' })
}

export function changePassword(current: string, next: string): Promise<Me> {
  return request<Me>('/api/auth/password', { method: 'POST', json: { current, new: next } })
}

export async function listKeys(): Promise<KeyView[]> {
  return (await request<{ keys: KeyView[] }>('/api/auth/keys')).keys
}

export function makeKey(name: string): Promise<NewKeyMade> {
  return request<NewKeyMade>('/api/auth/keys', { method: 'POST', json: { name } })
}

export function revokeKey(id: string): Promise<void> {
  return request<void>(`/api/auth/keys/${enc(id)}`, { method: 'DELETE' })
}

// -- the admin's users page --------------------------------------------------------------------

export async function listUsers(): Promise<UserView[]> {
  return (await request<{ users: UserView[] }>('/api/admin/users')).users
}

export interface NewUserBody {
  username: string
  password?: string
  role: 'user' | 'admin'
}

export function createUser(body: NewUserBody): Promise<UserView> {
  return request<UserView>('/api/admin/users', { method: 'POST', json: body })
}

export interface UserChangeBody {
  username?: string
  password?: string
  role?: 'user' | 'admin'
  disabled?: boolean
}

export function changeUser(id: number, body: UserChangeBody): Promise<UserView> {
  return request<UserView>(`/api/admin/users/${id}`, { method: 'PATCH', json: body })
}

export function deleteUser(id: number): Promise<void> {
  return request<void>(`/api/admin/users/${id}`, { method: 'DELETE' })
}

export async function userKeys(id: number): Promise<KeyView[]> {
  return (await request<{ keys: KeyView[] }>(`/api/admin/users/${id}/keys`)).keys
}

export function revokeUserKey(id: number, keyId: string): Promise<void> {
  return request<void>(`/api/admin/users/${id}/keys/${enc(keyId)}`, { method: 'DELETE' })
}

export async function adoptSessions(id: number): Promise<number> {
  return (await request<{ moved: number }>(`/api/admin/users/${id}/adopt`, { method: 'POST', json: {} })).moved
}

// -- a user's remembered choices ---------------------------------------------------------------

export async function getPreferences(): Promise<Record<string, unknown>> {
  return (await request<{ preferences: Record<string, unknown> }>('/api/auth/preferences')).preferences
}

export async function putPreferences(preferences: Record<string, unknown>): Promise<void> {
  await request<unknown>('/api/auth/preferences', { method: 'PUT', json: preferences })
}

// -- invites -------------------------------------------------------------------------------------

export function register(invite: string, username: string, password: string): Promise<Me> {
  return request<Me>('/api/auth/register', { method: 'POST', json: { invite, username, password } })
}

export interface InviteMade {
  invite: string
  path: string
  role: string
  expires_at: string
}

export function makeInvite(role: 'user' | 'admin'): Promise<InviteMade> {
  return request<InviteMade>('/api/admin/users/invites', { method: 'POST', json: { role } })
}
