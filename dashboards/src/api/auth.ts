import { client, unwrap, type Schemas } from './client'

export type Token = Schemas['Token']

/** OAuth2 password form: URLSearchParams body, not JSON. */
export function login(username: string, password: string): Promise<Token> {
  return unwrap(
    client.POST('/api/auth/token', {
      body: { username, password, grant_type: 'password', scope: '' },
      bodySerializer: (body) => new URLSearchParams(Object.entries(body).filter(([, v]) => typeof v === 'string') as [string, string][]),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  )
}

export function fetchMe(): Promise<Schemas['UserPublic']> {
  return unwrap(client.GET('/api/users/me'))
}
