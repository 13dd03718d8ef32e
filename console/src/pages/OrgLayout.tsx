import { useQuery } from "@tanstack/react-query";
import { NavLink, Outlet, useParams } from "react-router-dom";
import { get, type Org } from "../api";
import { ErrorText } from "../ui";

const TABS = [
  ["keys", "Keys"],
  ["usage", "Usage"],
  ["budget", "Budget"],
  ["members", "Members"],
  ["credentials", "Provider credentials"],
  ["audit", "Audit log"],
  ["playground", "Playground"],
] as const;

export function useOrgId(): string {
  return useParams().orgId!;
}

export function OrgLayout() {
  const orgId = useOrgId();
  const org = useQuery({ queryKey: ["org", orgId], queryFn: () => get<Org>(`/admin/v1/orgs/${orgId}`) });
  return (
    <>
      <h1>{org.data?.name ?? "Organisation"}</h1>
      <ErrorText error={org.error} />
      <nav aria-label="Organisation" className="tabs">
        {TABS.map(([path, label]) => (
          <NavLink key={path} to={path}>
            {label}
          </NavLink>
        ))}
      </nav>
      <Outlet />
    </>
  );
}
