// Connectid portal: a hash router over the public API. No framework, no inline script; tokens only in memory.
import * as client from './api.js';
import { accessPage } from './access.js';
import { auditPage } from './audit.js';
import { go, h } from './dom.js';
import { eidResultPage } from './eid.js';
import { factorsPage } from './factors.js';
import { deliveryPage, inboxPage } from './inbox.js';
import { keysPage } from './keys.js';
import { platformPage } from './platform.js';
import { membersPage } from './members.js';
import { acceptInvitePage, forgotPasswordPage, resetPasswordPage, signUpPage, verifyEmailPage } from './public.js';
import { deliverPage, requestsPage } from './requests.js';
import { homeRoute, me, rememberTarget, signOut } from './session.js';
import { signInPage, stepUp } from './signin.js';
import { myRequestsPage, openRequestPage, organizationsPage } from './directory.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');

const ROUTES = [
  { pattern: /^sign-in$/, render: signInPage, public: true },
  { pattern: /^sign-up$/, render: signUpPage, public: true },
  { pattern: /^eid-result(\?.*)?$/, render: eidResultPage, public: true },
  { pattern: /^forgot-password$/, render: forgotPasswordPage, public: true },
  { pattern: /^verify-email\/([A-Za-z0-9_-]+)$/, render: verifyEmailPage, public: true },
  { pattern: /^accept-invite\/([A-Za-z0-9_-]+)$/, render: acceptInvitePage, public: true },
  { pattern: /^reset-password\/([A-Za-z0-9_-]+)$/, render: resetPasswordPage, public: true },
  { pattern: /^keys$/, render: keysPage, roles: ['org_admin'] },
  { pattern: /^members$/, render: membersPage, roles: ['org_admin'] },
  { pattern: /^audit$/, render: auditPage, roles: ['org_admin'] },
  { pattern: /^requests$/, render: requestsPage, roles: ['org_admin', 'org_member'] },
  { pattern: /^requests\/([A-Za-z0-9_-]+)\/deliver$/, render: deliverPage, roles: ['org_member', 'org_admin'] },
  { pattern: /^inbox$/, render: inboxPage, roles: ['requester'] },
  { pattern: /^deliveries\/([A-Za-z0-9_-]+)$/, render: deliveryPage, roles: ['requester'] },
  { pattern: /^access$/, render: accessPage, roles: ['requester'] },
  { pattern: /^organizations$/, render: organizationsPage, roles: ['requester'] },
  { pattern: /^organizations\/([A-Za-z0-9_-]+)\/request$/, render: openRequestPage, roles: ['requester'] },
  { pattern: /^my-requests$/, render: myRequestsPage, roles: ['requester'] },
  { pattern: /^platform$/, render: platformPage, roles: ['operator'] },
  { pattern: /^factors$/, render: factorsPage },
];

function renderNav() {
  const links = [];
  const link = (route, text) => h('a', { href: `#/${route}`, 'aria-current': location.hash === `#/${route}` ? 'page' : null }, text);
  if (me) {
    if (me.role === 'org_admin') links.push(link('keys', 'API keys'), link('members', 'Members'), link('requests', 'Requests'), link('audit', 'Audit log'));
    if (me.role === 'org_member') links.push(link('requests', 'My requests'));
    if (me.role === 'operator') links.push(link('platform', 'Organizations'));
    if (me.role === 'requester') {
      links.push(link('inbox', 'Inbox'), link('my-requests', 'My requests'), link('organizations', 'Organizations'), link('access', 'Who accessed my data'));
    }
    links.push(link('factors', 'My factors'), h('span', { class: 'muted-light' }, me.email), h('button', { type: 'button', onclick: signOut }, 'Sign out'));
  } else {
    links.push(link('sign-in', 'Sign in'), link('sign-up', 'Create account'));
  }
  nav.replaceChildren(...links);
}

function render() {
  const path = location.hash.replace(/^#\/?/, '');
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    go(me ? homeRoute() : 'sign-in');
    return;
  }
  if (!route.public && !me) {
    rememberTarget(path);
    go('sign-in');
    return;
  }
  if (route.roles && !route.roles.includes(me.role)) {
    go(homeRoute());
    return;
  }
  renderNav();
  const match = route.pattern.exec(path);
  Promise.resolve(route.render(...match.slice(1))).catch((failure) => {
    main.append(h('p', { class: 'error', role: 'alert' }, failure.message || String(failure)));
  });
}

client.onStepUp(stepUp);
window.addEventListener('hashchange', render);
render();
