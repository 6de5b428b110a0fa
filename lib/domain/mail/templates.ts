/**
 * Every mail the product sends. Links carry tokens in the URL fragment (#…), which browsers never send to a
 * server, so they stay out of access logs and Referer headers. No mail carries more personal data than its
 * reader needs.
 */
import type { MailMessage } from '../../ports';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function message(to: string, subject: string, paragraphs: string[], link?: { label: string; url: string }): MailMessage {
  const text = [...paragraphs, ...(link ? [`${link.label}: ${link.url}`] : []), '', '— Connectid'].join('\n\n');
  const html =
    paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('') +
    (link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` : '') +
    '<p>— Connectid</p>';
  return { to, subject, text, html };
}

export const mail = {
  invitation: (to: string, baseUrl: string, token: string, what: string) =>
    message(
      to,
      'You are invited to Connectid',
      [`You have been invited to ${what} on Connectid. The invitation is valid for 24 hours.`, 'If you did not expect this, ignore this mail.'],
      { label: 'Accept the invitation', url: `${baseUrl}/portal/#/accept-invite/${token}` },
    ),
  verifyEmail: (to: string, baseUrl: string, token: string) =>
    message(to, 'Confirm your email address', ['Confirm your address to finish creating your Connectid account. The link is valid for 24 hours.'], {
      label: 'Confirm my address',
      url: `${baseUrl}/portal/#/verify-email/${token}`,
    }),
  signUpForExistingAccount: (to: string, baseUrl: string, token: string) =>
    message(
      to,
      'Someone tried to create a Connectid account with your address',
      [
        'This address already has a Connectid account. If it was you, confirm below to use it as a requester too; your password stays as it is.',
        'If it was not you, ignore this mail: nothing changes.',
      ],
      { label: 'Use my account as a requester', url: `${baseUrl}/portal/#/verify-email/${token}` },
    ),
  passwordReset: (to: string, baseUrl: string, token: string) =>
    message(to, 'Reset your Connectid password', ['Someone asked to reset the password of this account. The link is valid for 1 hour.', 'If it was not you, ignore this mail.'], {
      label: 'Choose a new password',
      url: `${baseUrl}/portal/#/reset-password/${token}`,
    }),
  passwordChanged: (to: string) =>
    message(to, 'Your Connectid password was changed', ['The password of your account was just changed and every session was signed out.', 'If it was not you, reset your password now and contact your administrator.']),
  // No item names, no title, no purpose: the mailbox is not the vault. The organization's name is what the reader needs.
  deliveryReleased: (to: string, baseUrl: string, deliveryId: string, organizationName: string, daysAvailable: number) =>
    message(
      to,
      'You have a new delivery on Connectid',
      [
        `${organizationName} has delivered data to you on Connectid.`,
        `Sign in to download it. It stays available for ${daysAvailable} days; after that it is deleted for good.`,
      ],
      { label: 'Open the delivery', url: `${baseUrl}/portal/#/deliveries/${deliveryId}` },
    ),
  mfaCode: (to: string, code: string) =>
    message(to, `${code} is your Connectid code`, [
      `Your Connectid code is ${code}. It is valid for 10 minutes.`,
      'If you are not signing in or adding this address as a sign-in method right now, someone may know your password: change it.',
    ]),
  recoveryCodeUsed: (to: string, remaining: number) =>
    message(to, 'A recovery code was used to sign in to Connectid', [
      `Someone signed in to your account with one of your recovery codes. ${remaining === 1 ? '1 code is' : `${remaining} codes are`} left.`,
      'If it was you, add a new sign-in method and create new recovery codes. If it was not, change your password now and contact support.',
    ]),
  factorsReset: (to: string) =>
    message(to, 'Your Connectid sign-in methods were reset', [
      'An administrator removed every second factor and recovery code from your account and signed out all your sessions.',
      'At your next sign-in you will be asked to set up a new second factor. If you did not ask for this, contact your administrator.',
    ]),
  lockout: (to: string) =>
    message(to, 'Sign-in to your Connectid account is paused', [
      'There were many failed attempts to sign in to your account, so sign-in is paused for 15 minutes.',
      'If it was not you, your password is still safe, but consider changing it.',
    ]),
};
