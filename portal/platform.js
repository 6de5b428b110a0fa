// Operators: the organizations on the platform, and creating one with its first admin (who gets an invitation).
import * as client from './api.js';
import { errorBox, field, h, page, pagedTable, pageQuery, say, showError, submitting } from './dom.js';

export async function platformPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading organizations…'));
  const name = field('Organization name', { name: 'name', required: true, maxlength: 200 });
  const adminEmail = field('Email of its first admin', { type: 'email', name: 'adminEmail', required: true, autocomplete: 'off' }, 'They get an invitation to choose a password and set up a second factor.');
  const form = h(
    'form',
    {
      onsubmit: submitting(error, async () => {
        const created = await client.api('POST', '/v1/organizations', { body: { name: name.input.value.trim(), adminEmail: adminEmail.input.value.trim() } });
        say(`Organization "${created.name}" created; the invitation is on its way to ${adminEmail.input.value.trim()}.`);
        name.input.value = '';
        adminEmail.input.value = '';
        await load();
      }),
    },
    name.label,
    adminEmail.label,
    h('button', { type: 'submit' }, 'Create organization'),
    error,
  );
  page('Organizations', h('h2', {}, 'Create an organization'), form, h('h2', {}, 'On the platform'), slot);

  async function load() {
    await pagedTable(
      slot,
      [
        ['Organization', (organization) => organization.name],
        ['ID', (organization) => h('code', {}, organization.id)],
      ],
      (cursor) => client.api('GET', pageQuery('/v1/organizations', cursor)),
      { empty: 'No organizations yet.', noun: 'organizations' },
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
