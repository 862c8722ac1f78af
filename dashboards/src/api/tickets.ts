import { client, unwrap, type Schemas } from './client'

export type Ticket = Schemas['TicketView']
export type TicketDetail = Schemas['TicketDetailView']
export type Deadline = Schemas['Deadline']
export type TimelineRow = Schemas['TicketTimelinePublic']
export type TicketResponse = Schemas['ResponsePublic']
export type ResponseCreate = Schemas['ResponseCreate']
export type Queue = 'mine' | 'unit' | 'due_soon' | 'overdue' | 'closed' | 'review' | 'all'

export function listTickets(queue: Queue, q: string, limit: number, offset: number, signal?: AbortSignal): Promise<Ticket[]> {
  return unwrap(client.GET('/api/tickets', { params: { query: { queue, q, limit, offset } }, signal }))
}

export function getTicket(id: number, signal?: AbortSignal): Promise<TicketDetail> {
  return unwrap(client.GET('/api/tickets/{ticket_id}', { params: { path: { ticket_id: id } }, signal }))
}

/** 开单: one ticket per event; lead unit, handler and assisting units at once; closes the event's alerts. */
export function openTicket(body: Schemas['TicketOpen']): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets', { body }))
}

const path = (id: number) => ({ params: { path: { ticket_id: id } } })

export function transitionTicket(id: number, to_state: string, note = ''): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/transition', { ...path(id), body: { to_state, note } }))
}

export function saveDraft(id: number, text: string) {
  return unwrap(client.PUT('/api/tickets/{ticket_id}/draft', { ...path(id), body: { text } }))
}

export function saveNotes(id: number, body: Schemas['TicketNotes']): Promise<Ticket> {
  return unwrap(client.PATCH('/api/tickets/{ticket_id}/notes', { ...path(id), body }))
}

export function pauseTicket(id: number, reason: string): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/pause', { ...path(id), body: { reason } }))
}

export function resumeTicket(id: number, note = ''): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/resume', { ...path(id), body: { note } }))
}

export function extendTicket(id: number, working_days: number, reason: string): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/extend', { ...path(id), body: { working_days, reason } }))
}

export function signOff(id: number, confidentiality_checked: boolean, note = ''): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/sign-off', { ...path(id), body: { confidentiality_checked, note } }))
}

/** 退回: review → handling with the reason */
export function returnDraft(id: number, reason: string) {
  return unwrap(client.POST('/api/tickets/{ticket_id}/return', { ...path(id), body: { reason } }))
}

export function recordResponse(id: number, body: ResponseCreate): Promise<TicketResponse> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/responses', { ...path(id), body }))
}

export function assignTicket(id: number, body: Schemas['TicketAssignIn']): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/assign', { ...path(id), body }))
}

export function dismissTicket(id: number, reason: string): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/dismiss', { ...path(id), body: { reason } }))
}

export function reopenTicket(id: number, reason: string): Promise<Ticket> {
  return unwrap(client.POST('/api/tickets/{ticket_id}/reopen', { ...path(id), body: { reason } }))
}
