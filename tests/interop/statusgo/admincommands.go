package main

// Community admins for interop tests.
//
// In status-go v1.1.0 an admin is a member whose revealed addresses satisfy a BECOME_ADMIN
// token permission: the control node gives them ROLE_ADMIN when it accepts their request
// (communities/manager.go accountsSatisfyPermissionsToJoin) and when it reevaluates members.
// The balances come from the peer's test ledger (ledger.go), as for the other permissions.
//
// Commands, registered beside the others at start:
//   community_permission {type: "become_admin" | "become_token_master", ...}
//       the ledger's community_permission, with these two types added.
//   community_roles {communityId} -> {roles: {member key: [role numbers]}, clock}
//       the roles the community's description gives each member
//       (protobuf.CommunityMember_Roles: 1 owner, 4 admin, 5 token master).

import (
	"context"

	"github.com/status-im/status-go/protocol/protobuf"
)

func init() {
	permissionTypes["become_admin"] = protobuf.CommunityTokenPermission_BECOME_ADMIN
	permissionTypes["become_token_master"] = protobuf.CommunityTokenPermission_BECOME_TOKEN_MASTER
	handlers["community_roles"] = (*peer).cmdCommunityRoles
}

func (p *peer) cmdCommunityRoles(_ context.Context, a cmdArgs) (obj, error) {
	id, err := p.communityArg(a)
	if err != nil {
		return nil, err
	}
	c, err := p.messenger.GetCommunityByID(id)
	if err != nil {
		return nil, err
	}
	roles := obj{}
	for key, member := range c.Members() {
		numbers := []int{}
		for _, role := range member.Roles {
			numbers = append(numbers, int(role))
		}
		roles[key] = numbers
	}
	return obj{"roles": roles, "clock": c.Clock()}, nil
}
