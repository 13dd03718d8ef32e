import { lazy, Suspense, useEffect } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { api, get, setOnUnauthenticated, type Session } from "./api";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { Login } from "./pages/Login";
import { Orgs } from "./pages/Orgs";
import { OrgLayout } from "./pages/OrgLayout";
import { Keys } from "./pages/Keys";
import { Budget } from "./pages/Budget";
import { Members } from "./pages/Members";
import { Credentials } from "./pages/Credentials";
import { Audit } from "./pages/Audit";
import { Playground } from "./pages/Playground";

// The chart library is the heaviest dependency: loaded when the Usage tab opens.
const Usage = lazy(() => import("./pages/Usage"));

export function useSession() {
  return useQuery({
    queryKey: ["session"],
    queryFn: () => get<Session>("/admin/v1/auth/session"),
    staleTime: 60_000,
  });
}

function Shell({ session }: { session: Session }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  async function signOut() {
    await api("DELETE", "/admin/v1/auth/session");
    client.clear();
    navigate("/login");
  }
  return (
    <>
      <header>
        <nav aria-label="Main">
          <Link to="/">AISTRALE</Link>
          <Link to="/">Organisations</Link>
          {session.platform_admin && <Link to="/audit">Audit log</Link>}
        </nav>
        <span className="who">{session.email}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>
          <Routes>
            <Route path="/" element={<Orgs />} />
            <Route path="/audit" element={<Audit />} />
            <Route path="/orgs/:orgId" element={<OrgLayout />}>
              <Route index element={<Navigate to="keys" replace />} />
              <Route path="keys" element={<Keys />} />
              <Route path="usage" element={<Usage />} />
              <Route path="budget" element={<Budget />} />
              <Route path="members" element={<Members />} />
              <Route path="credentials" element={<Credentials />} />
              <Route path="audit" element={<Audit />} />
              <Route path="playground" element={<Playground />} />
            </Route>
            <Route path="*" element={<p>Nothing here. <Link to="/">Organisations</Link></p>} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}

export function App() {
  const session = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  useEffect(() => {
    setOnUnauthenticated(() => {
      client.setQueryData(["session"], null);
      navigate("/login");
    });
  }, [client, navigate]);
  if (location.pathname === "/login") return <Login />;
  if (location.pathname === "/invite") return <AcceptInvitation />;
  if (session.isPending) return <p>Loading…</p>;
  if (!session.data) return <Navigate to="/login" replace />;
  return <Shell session={session.data} />;
}
