/**
 * The Actions panel of one system: list services (restart or inspect a listed one), list a file
 * root or read a file, run a command the agent's policy names. The page only posts JSON to the hub
 * (POST /api/systems/:id/actions); the hub signs with its key and waits for the agent. Where the
 * system cannot be asked (SSH, Beszel's route, disconnected) the controls are disabled and the
 * reason is shown.
 */
import type { ActionAnswerJson, ActionRequestJson, ApiError, SystemView } from '../api-types.js'
import { renderAnswer, renderHubError, renderNotSent, renderPending, type FollowUp, type RenderContext } from './action-results.js'
import { element } from './dom.js'

const LABELS: Record<ActionRequestJson['action'], string> = {
  ExecuteCommand: 'Run command',
  ListServices: 'List services',
  GetServiceStatus: 'Service status',
  PerformServiceAction: 'Service action',
  ListFiles: 'List files',
  ReadFile: 'Read file',
}

function label(request: ActionRequestJson): string {
  switch (request.action) {
    case 'GetServiceStatus':
      return `Status of ${request.unit}`
    case 'PerformServiceAction':
      return `${request.serviceAction[0]?.toUpperCase() ?? ''}${request.serviceAction.slice(1)} ${request.unit}`
    case 'ListFiles':
      return `List ${request.root}:/${request.path ?? ''}`
    case 'ReadFile':
      return `Read ${request.root}:/${request.path}`
    case 'ExecuteCommand':
      return `Run ${request.id}`
    default:
      return LABELS[request.action]
  }
}

function input(name: string, placeholder: string): HTMLInputElement {
  const field = element('input')
  field.name = name
  field.placeholder = placeholder
  field.autocomplete = 'off'
  field.spellcheck = false
  return field
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const wrap = element('label', undefined, text)
  wrap.append(control)
  return wrap
}

function actionButton(text: string, action: string, onClick: () => void): HTMLButtonElement {
  const b = element('button', undefined, text)
  b.type = 'button'
  b.dataset.action = action
  b.addEventListener('click', onClick)
  return b
}

/** `name=value` per line → slot values; a line without `=` is an error to show, not to send. */
export function parseSlots(text: string): { ok: true; args: Record<string, string> } | { ok: false; message: string } {
  const args: Record<string, string> = {}
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue
    const at = line.indexOf('=')
    if (at <= 0) return { ok: false, message: `slot line ${index + 1} is not name=value: ${JSON.stringify(line)}` }
    args[line.slice(0, at).trim()] = line.slice(at + 1)
  }
  return { ok: true, args }
}

export class ActionsPanel {
  readonly element = element('section', 'tables actions')
  private readonly reason = element('p', 'hint unavailable')
  private readonly controls = element('fieldset', 'action-controls')
  private readonly answer = element('div', 'action-answer')
  private readonly root = input('root', 'root name (policy files:)')
  private readonly path = input('path', 'path in the root ("" = the root)')
  private readonly commandId = input('command', 'command id (policy commands:)')
  private readonly slots = element('textarea')
  /** only the newest request's answer is shown */
  private sequence = 0

  constructor(private readonly systemId: string) {
    this.element.dataset.panel = 'actions'
    this.reason.dataset.actionsUnavailable = ''
    this.answer.dataset.actionAnswer = ''
    this.answer.setAttribute('aria-live', 'polite')
    this.slots.name = 'slots'
    this.slots.rows = 2
    this.slots.placeholder = 'slot=value, one a line'

    const services = element('div', 'action-group')
    services.dataset.group = 'services'
    services.append(element('h3', undefined, 'Services'), actionButton('List services', 'list-services', () => void this.send({ action: 'ListServices' })))

    const files = element('div', 'action-group')
    files.dataset.group = 'files'
    files.append(
      element('h3', undefined, 'Files'),
      labelled('Root ', this.root),
      labelled('Path ', this.path),
      actionButton('List', 'list-files', () => void this.send({ action: 'ListFiles', root: this.root.value.trim(), path: this.path.value })),
      actionButton('Read', 'read-file', () => void this.send({ action: 'ReadFile', root: this.root.value.trim(), path: this.path.value })),
    )

    const command = element('div', 'action-group')
    command.dataset.group = 'command'
    command.append(
      element('h3', undefined, 'Command'),
      labelled('Id ', this.commandId),
      labelled('Slots ', this.slots),
      actionButton('Run', 'run-command', () => {
        const slots = parseSlots(this.slots.value)
        if (!slots.ok) {
          this.answer.replaceChildren(renderNotSent('Run command', slots.message))
          return
        }
        void this.send({ action: 'ExecuteCommand', id: this.commandId.value.trim(), args: slots.args })
      }),
    )

    this.controls.append(services, files, command)
    this.element.append(
      element('h2', undefined, 'Actions'),
      element('p', 'hint', 'Signed by this hub with its key; the agent decides by its own policy (EXTENSIONS_FILE) and says why when it refuses.'),
      this.reason,
      this.controls,
      this.answer,
    )
  }

  /** The system's current availability: controls on, or off with the reason. */
  update(system: SystemView | undefined): void {
    const availability = system?.actions ?? { available: false as const, reason: 'unknown system' }
    this.controls.disabled = !availability.available
    this.element.dataset.available = String(availability.available)
    this.reason.hidden = availability.available
    this.reason.textContent = availability.available ? '' : `Actions unavailable: ${availability.reason}`
  }

  private followUp(request: FollowUp): void {
    if (request.action === 'ListFiles' || request.action === 'ReadFile') {
      this.root.value = request.root
      this.path.value = request.path
    }
    void this.send(request)
  }

  private async send(request: ActionRequestJson): Promise<void> {
    const id = ++this.sequence
    const text = label(request)
    this.answer.replaceChildren(renderPending(text))
    const context: RenderContext = {
      root: 'root' in request ? request.root : '',
      path: 'path' in request ? (request.path ?? '') : '',
      followUp: (next) => this.followUp(next),
    }
    let shown: HTMLElement
    try {
      const response = await fetch(`/api/systems/${encodeURIComponent(this.systemId)}/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      })
      const body = (await response.json()) as ActionAnswerJson | ApiError
      shown = response.ok && 'outcome' in body ? renderAnswer(text, body, context) : renderHubError(text, response.status, 'error' in body ? body.error : `HTTP ${response.status}`)
    } catch (error) {
      shown = renderHubError(text, undefined, error instanceof Error ? error.message : String(error))
    }
    if (id === this.sequence) this.answer.replaceChildren(shown)
  }
}
