// Organization admins: members.
import * as client from './api.js';
import { errorBox, field, h, page, pagedTable, pageQuery, say, showError, submitting, when } from './dom.js';
import { me } from './session.js';

export const ROLE_NAMES = { org_admin: 'Admin', org_member: 'Member' };

export async function membersPage() {
  const base = `/v1/organizations/${encodeURIComponent(me.organizationId)}/members`;
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading members…'));
  const email = field('Email of the new member', { type: 'email', name: 'email', required: true });
  const role = h('select', { name: 'role' }, h('option', { value: 'org_member' }, 'Member'), h('option', { value: 'org_admin' }, 'Admin'));
  const invite = h(
    'form',
    {
      class: 'inline',
      onsubmit: submitting(error, async () => {
        await client.api('POST', base, { body: { email: email.input.value.trim(), role: role.value } });
        say(`Invitation sent to ${email.input.value.trim()}.`);
        email.input.value = '';
        await load();
      }),
    },
    email.label,
    h('label', {}, h('span', {}, 'Role'), role),
    h('button', { type: 'submit' }, 'Invite member'),
  );
  page('Members', error, h('h2', {}, 'Invite'), invite, h('h2', {}, 'Members'), slot);

  async function change(member, body, done) {
    error.textContent = '';
    try {
      await client.api('PATCH', `${base}/${encodeURIComponent(member.id)}`, { body });
      say(done);
      await load();
      // The list was drawn anew: focus goes back to the control just used in the member's row, not to the page body.
      const row = Array.from(slot.querySelectorAll('tbody tr')).find((one) => one.dataset.memberId === member.id);
      const control = row && row.querySelector('role' in body ? 'select' : '.actions button');
      if (control) control.focus();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function resetFactors(member) {
    if (!window.confirm(`Reset the second factors of ${member.email}? They set up a new one at their next sign-in.`)) return;
    error.textContent = '';
    try {
      await client.api('POST', `${base}/${encodeURIComponent(member.id)}/reset-factors`);
      say(`Factors of ${member.email} reset.`);
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    await pagedTable(
      slot,
      [
        ['Member', (member) => (member.name ? `${member.name} <${member.email}>` : member.email)],
        ['Role', roleControl],
        ['Status', (member) => member.status],
        ['Joined', (member) => when(member.joinedAt)],
        ['Actions', actions],
      ],
      (cursor) => client.api('GET', pageQuery(base, cursor)),
      { empty: 'No members yet.', noun: 'members', rowAttributes: (member) => ({ 'data-member-id': member.id }) },
    );
  }

  function roleControl(member) {
    if (member.id === me.id) return ROLE_NAMES[member.role];
    const select = h(
      'select',
      {
        'aria-label': `Role of ${member.email}`,
        onchange: () => change(member, { role: select.value }, `${member.email} is now ${ROLE_NAMES[select.value]}.`),
      },
      Object.entries(ROLE_NAMES).map(([value, text]) => h('option', { value, selected: value === member.role }, text)),
    );
    return select;
  }

  function actions(member) {
    // Admins cannot disable themselves or reset their own factors here: "My factors" is the place for one's own.
    if (member.id === me.id) return '—';
    return h(
      'div',
      { class: 'actions' },
      member.status === 'active'
        ? h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${member.email}`, onclick: () => change(member, { disabled: true }, `${member.email} disabled.`) }, 'Disable')
        : h('button', { type: 'button', class: 'secondary', 'aria-label': `Enable ${member.email}`, onclick: () => change(member, { disabled: false }, `${member.email} enabled.`) }, 'Enable'),
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Reset factors of ${member.email}`, onclick: () => resetFactors(member) }, 'Reset factors'),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
