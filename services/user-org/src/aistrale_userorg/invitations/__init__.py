"""Invitations: adding a member creates one; the invitee accepts it with its token."""
