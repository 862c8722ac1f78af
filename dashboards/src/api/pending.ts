// HAND-TYPED answers the API does not describe in openapi.json yet.
// Switch each to generated types (Schemas[...]) once the API declares a response_model for it.

/** POST /api/intake/import → core/intake/service.py ImportReport.to_dict() (no response_model yet) */
export interface ImportReport {
  rows: number
  accepted: number
  duplicates: number
  rejected_count: number
  columns: Record<string, string>
  rejected: { row: number; reason: string }[]
}

// ---- h9-ui-more: endpoints built on other branches (h8-sec users, h12-tickets calendar), coded against
// /work/notes/CONTRACT.md. Switch to generated types after the merge regenerates openapi.json.

/** PATCH /api/users/{id} body (h8-sec) */
export interface UserUpdate {
  full_name?: string
  role?: string
  unit_id?: number | null
  is_active?: boolean
}

/** GET /api/calendar/days?year= item (h12-tickets) */
export interface CalendarDay {
  date: string
  kind: 'holiday' | 'workday'
  name: string
  note?: string
}

/** POST /api/calendar/import answer (h12-tickets) */
export interface CalendarImportReport {
  imported: number
  errors: { line: number; message: string }[]
}

/** GET /api/calendar/status (h12-tickets) */
export interface CalendarStatus {
  covered_until: string | null
  warning: string | null
}
